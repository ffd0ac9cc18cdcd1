"""Retrieval quality side by side: kb's hybrid, dense and lexical against the LangChain tutorial pipeline.

    .venv/bin/python bench/quality.py                      # the sample space and the SQuAD tuning half
    .venv/bin/python bench/quality.py --sets squad --squad-every 1
    .venv/bin/python bench/quality.py --sets beir --beir DIR   # DIR: corpus.jsonl, queries.jsonl, qrels/
    .venv/bin/python bench/quality.py --reuse --option retrieval.rrf_k=20   # search side only

Per set: the pages are served by the emulator (in this process, over loopback) and ingested with
`kb ingest` (a subprocess, a config file of its own under --data-root); each mode is then scored as
`kb eval --no-answer` scores it (retrieval.query.evaluate with answers off, one process, one model
load). The tutorial pipeline (bench/quality_langchain.py) indexes the same pages' storage bodies with
the same local model. Figures: recall@5 and MRR@10 by kb eval's rule (a chunk of a gold page that
holds an answer string; any chunk of a gold page for lines without answers, e.g. BEIR), nDCG@10 over
pages, search p50/p95 in ms. `--page-level` drops the answer strings: a hit is the page.
`--reuse` keeps what an earlier run ingested under --data-root (no emulator, no embedding), so
retrieval settings (`--option section.key=value`, written to the set's config) can be compared fast;
options that decide the chunks need a fresh run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

from bench.quality_sets import SQUAD_TUNE, QASet, beir_set, sample_set, squad_set  # noqa: E402

SHOWN = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "p50_ms", "p95_ms", "questions")


def _value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _toml(sections: dict[str, dict[str, Any]]) -> str:
    lines = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in values.items())
    return "\n".join(lines) + "\n"


def write_config(path: Path, confluence: dict[str, Any], data_dir: Path, options: list[str]) -> None:
    """The set's config file (the token stays in the environment); `options` as section.key=value."""
    sections: dict[str, dict[str, Any]] = {"data": {"dir": str(data_dir)}}
    if confluence:
        sections["confluence"] = {k: v for k, v in confluence.items() if k != "api_token"} | {"spaces": []}
    for option in options:
        key, _, value = option.partition("=")
        section, _, name = key.partition(".")
        if not name or not _:
            raise SystemExit(f"error: --option {option!r} is not section.key=value")
        sections.setdefault(section, {})[name] = _value(value)
    path.write_text(_toml(sections), encoding="utf-8")


def kb_ingest(qa_set: QASet, work: Path, options: list[str]) -> dict[str, Any]:
    """Serve the set's pages and run `kb ingest --json` against them; its report."""
    from emulator.testing import running_emulator

    with running_emulator(qa_set.items, **qa_set.access) as emu:
        write_config(work / "config.toml", emu.confluence_settings(), work / "kb", options)
        env = {**os.environ, "KB_CONFLUENCE__API_TOKEN": emu.token}
        done = subprocess.run([sys.executable, "-c", "from retrieval.cli import main; main()",
                               "--config", str(work / "config.toml"), "ingest", "--json"],
                              cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"error: kb ingest failed for {qa_set.name}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def score_kb(work: Path, qa_path: Path, modes: list[str], options: list[str], limit: int | None,
             embedder: Any) -> dict[str, dict[str, Any]]:
    from ingest.config import load_settings
    from retrieval.query.evaluate import evaluate
    from retrieval.query.searcher import Searcher

    write_config(work / "search.toml", {}, work / "kb", options)  # no emulator now: no [confluence]
    settings = load_settings(work / "search.toml")
    searcher = Searcher(settings, embedder=embedder)
    try:
        return {mode: evaluate(settings, qa_path, mode=mode, searcher=searcher, with_answers=False,
                               limit=limit).to_dict() for mode in modes}
    finally:
        searcher.close()


def page_level(qa_path: Path) -> Path:
    out = qa_path.with_name(qa_path.stem + "-pages.jsonl")
    rows = [{k: v for k, v in json.loads(line).items() if k != "answers"}
            for line in qa_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return out


def run_set(qa_set: QASet, work: Path, args: argparse.Namespace, embedder: Any) -> dict[str, Any]:
    from bench.quality_langchain import TutorialPipeline, evaluate_pipeline

    reuse = args.reuse and (work / "kb").is_dir()
    if not reuse:
        shutil.rmtree(work / "kb", ignore_errors=True)
        report = kb_ingest(qa_set, work, args.option)
        print(f"{qa_set.name}: kb ingest: {json.dumps(report.get('index', report))[:300]}", file=sys.stderr)
    qa_path = page_level(qa_set.qa_path) if args.page_level else qa_set.qa_path
    rows = score_kb(work, qa_path, args.modes.split(","), args.option, args.limit, embedder)
    if not args.no_langchain:
        pipeline = TutorialPipeline(qa_set.items, work / "langchain", reuse=args.reuse)
        rows["langchain"] = evaluate_pipeline(pipeline, qa_path, limit=args.limit)
        rows["langchain"]["chunks"] = pipeline.chunks
    return rows


def print_table(name: str, rows: dict[str, dict[str, Any]]) -> None:
    print(f"\n{name}")
    print("| pipeline | " + " | ".join(SHOWN) + " |")
    print("|---" * (len(SHOWN) + 1) + "|")
    for mode, row in rows.items():
        print(f"| {mode} | " + " | ".join(str(row.get(key, "")) for key in SHOWN) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default="sample,squad", help="comma list of sample, squad, beir")
    parser.add_argument("--squad", type=Path, default=SQUAD_TUNE, help="a SQuAD v1.1 JSON file")
    parser.add_argument("--squad-every", type=int, default=9, help="every N-th SQuAD question (9: 600)")
    parser.add_argument("--beir", type=Path, help="a BEIR-style directory (for --sets beir)")
    parser.add_argument("--qrels", type=Path, help="the BEIR qrels file (default DIR/qrels/test.tsv)")
    parser.add_argument("--modes", default="hybrid,dense,lexical")
    parser.add_argument("--limit", type=int, help="only the first N questions of each set")
    parser.add_argument("--option", action="append", default=[], help="section.key=value for kb's config")
    parser.add_argument("--page-level", action="store_true", help="a hit is the page (answers ignored)")
    parser.add_argument("--no-langchain", action="store_true", help="skip the tutorial pipeline")
    parser.add_argument("--reuse", action="store_true", help="reuse what --data-root already holds")
    parser.add_argument("--data-root", type=Path, default=Path("/tmp/kb-quality"))
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout, no tables")
    args = parser.parse_args(argv)
    from ingest.config import load_settings
    from ingest.index.embed import load_embedder

    embedder = load_embedder(load_settings())
    results = {}
    for name in args.sets.split(","):
        work = args.data_root / name
        work.mkdir(parents=True, exist_ok=True)
        if name == "sample":
            qa_set = sample_set(work / "set")
        elif name == "squad":
            qa_set = squad_set(work / "set", args.squad, args.squad_every)
        elif name == "beir":
            if args.beir is None:
                parser.error("--sets beir needs --beir DIR")
            qa_set = beir_set(args.beir, work / "set", args.qrels, args.limit)
        else:
            parser.error(f"unknown set {name!r}: use sample, squad or beir")
        results[qa_set.name] = run_set(qa_set, work, args, embedder)
        if not args.json:
            print_table(qa_set.name, results[qa_set.name])
    if args.json:
        print(json.dumps({"options": args.option, "page_level": args.page_level, "sets": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
