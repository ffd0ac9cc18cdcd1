"""`bench/ingest.py --backends`: each embedding backend's full ingest and dense recall, side by side.

    .venv/bin/python bench/ingest.py --backends torch,torch-bf16 [--rounds 2] [--squad]

The emulator serves the bundled sample space (emulator/sample), or with --squad the SQuAD tuning half
converted to pages (emulator/squad.py; every 9th question, as bench/quality.py asks them); for each
backend, in turn (rounds interleaved, so a busy machine sways them alike), a fresh index is ingested
from empty with that backend, then `kb eval`'s dense mode scores the set's questions at k=5 on it
(retrieval alone).
Prints, per backend: full-ingest chunks/s (best round), embed-only chunks/s (the same chunk texts,
in memory), their speed against torch fp32, and recall@5 against fp32's (goal: within 0.005).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

QA = Path(__file__).resolve().parent.parent / "emulator" / "sample" / "qa.jsonl"


def squad_pages(out: Path) -> tuple[Path, Path]:
    """The SQuAD tuning half as an emulator corpus (spaces.jsonl beside it) and its QA file."""
    from bench.quality_sets import SQUAD_TUNE, squad_set

    if not SQUAD_TUNE.is_file():
        raise SystemExit(f"error: --squad needs {SQUAD_TUNE} (../shared/data/squad); it is not there")
    qa_set = squad_set(out)
    return out / "corpus.jsonl", qa_set.qa_path


def compare(names: list[str], fields: dict[str, str], tmp: Path, rounds: int, qa: Path = QA) -> None:
    from bench.ingest import TimedEmbedder, embed_only, load, timed_ingest
    from ingest.config import load_settings
    from ingest.index.embed import load_embedder
    from retrieval.query.evaluate import evaluate
    from retrieval.query.searcher import Searcher

    results: dict[str, dict[str, Any]] = {}
    for round_no in range(rounds):
        for name in names:
            settings = load_settings(data={"dir": str(tmp / f"kb-{name}-{round_no}")},
                                     embed={"backend": name}, confluence={
                "domain_name": fields["domain"], "email": fields["email"], "api_token": fields["token"],
                "ca_bundle": fields.get("ca", ""), "scheme": "https"})
            inner = load_embedder(settings)
            embedder = TimedEmbedder(inner)
            full_s, report = timed_ingest(settings, embedder)
            embed_s, n = embed_only(settings, embedder)
            searcher = Searcher(settings, embedder=inner)
            scored = evaluate(settings, qa, k=5, mode="dense", searcher=searcher, with_answers=False)
            searcher.close()
            chunks = report.index.chunks_written
            got = results.setdefault(name, {"backend": inner.backend, "full": 0.0, "embed": 0.0})
            got["full"] = max(got["full"], chunks / full_s)
            got["embed"] = max(got["embed"], n / embed_s)
            got.update(chunks=chunks, recall=scored.recall_at_5, questions=scored.questions)
            print(f"  round {round_no + 1} {name} ({inner.backend}): full {chunks / full_s:.1f} chunks/s, "
                  f"embed-only {n / embed_s:.1f} chunks/s, dense recall@5 {scored.recall_at_5:.3f}; "
                  f"load {load()}", flush=True)
    base = results.get("torch") or next(iter(results.values()))
    print(f"{'backend':<12} {'runs as':<11} {'chunks':>6} {'full c/s':>9} {'x fp32':>7} "
          f"{'embed c/s':>10} {'x fp32':>7} {'recall@5':>9} {'vs fp32':>8}")
    for name, got in results.items():
        print(f"{name:<12} {got['backend']:<11} {got['chunks']:>6} {got['full']:>9.1f} "
              f"{got['full'] / base['full']:>6.2f}x {got['embed']:>10.1f} "
              f"{got['embed'] / base['embed']:>6.2f}x "
              f"{got['recall']:>9.3f} {got['recall'] - base['recall']:>+8.3f}")
    print(f"({base['questions']} questions of {qa.name}, dense, k=5; best of {rounds} round(s))")
