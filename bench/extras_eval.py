"""Retrieval quality on the sample space's content beyond page bodies, with the bundled model.

    .venv/bin/python bench/extras_eval.py [--mode hybrid]

Ingests the sample space twice from the emulator (in this process, over loopback): as it was, and with
its extras (emulator/sample/extras.jsonl: attachments of every type, comments, a Jira-issues macro
page, an excerpt-include, a page-properties page). Prints recall@1/5/10 and MRR@10 of the old
questions (qa.jsonl) in both, and of the new ones (qa_extras.jsonl, answerable only from the extras)
in the second: the goal is recall@5 >= 0.9 on the new ones and no drop on the old ones.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")


def main() -> None:
    from emulator import corpus as c
    from emulator.testing import running_emulator
    from ingest.config import load_settings
    from ingest.index.embed import load_embedder
    from ingest.pipeline import ingest
    from retrieval.query.evaluate import evaluate
    from retrieval.query.searcher import Searcher

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--mode", default="hybrid")
    args = parser.parse_args()
    keys = ("recall@1", "recall@5", "recall@10", "mrr@10", "questions")
    embedder = None
    access = {
        "spaces": c.read_spaces(c.SAMPLE_SPACES),
        "users": c.read_users(c.SAMPLE_USERS),
        "groups": c.read_groups(c.SAMPLE_GROUPS),
    }
    for label, items in (
        ("sample", list(c.read_corpus(c.SAMPLE_CORPUS))),
        ("sample+extras", c.sample_with_extras()),
    ):
        with tempfile.TemporaryDirectory() as tmp, running_emulator(items, **access) as emu:
            settings = load_settings(
                confluence={**emu.confluence_settings(), "spaces": []}, data={"dir": tmp}
            )
            embedder = embedder or load_embedder(settings)
            report = ingest(settings, embedder=embedder)
            searcher = Searcher(settings, embedder=embedder)
            try:
                sets = [("old", c.SAMPLE_QA)] + ([("new", c.SAMPLE_QA_EXTRAS)] if "extras" in label else [])
                for name, path in sets:
                    r = evaluate(
                        settings, path, mode=args.mode, searcher=searcher, with_answers=False
                    ).to_dict()
                    print(f"{label:<14} {name} questions  " + "  ".join(f"{k} {r[k]}" for k in keys))
            finally:
                searcher.close()
            print(f"{label:<14} ingest: {json.dumps(report.index.to_dict()['pages'])}")


if __name__ == "__main__":
    main()
