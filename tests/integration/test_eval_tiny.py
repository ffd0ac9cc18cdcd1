"""`evaluate` over the tiny knowledge base (Chroma on a tmp dir)."""

from __future__ import annotations

import json

from ingest.index.embed import FakeEmbedder
from retrieval.query.evaluate import KEYS, evaluate
from retrieval.query.searcher import Searcher
from tests.helpers import TINY_QA


def test_evaluate_tiny_index(tiny_kb, tmp_path):
    qa = tmp_path / "qa.jsonl"
    qa.write_text("\n".join(json.dumps(row) for row in TINY_QA) + "\n\n", encoding="utf-8")
    searcher = Searcher(tiny_kb, embedder=FakeEmbedder())
    try:
        results = {mode: evaluate(tiny_kb, qa, mode=mode, searcher=searcher).to_dict()
                   for mode in ("hybrid", "dense", "lexical")}
    finally:
        searcher.close()
    for mode, d in results.items():
        assert list(d) == list(KEYS) and d["questions"] == 4, mode
        assert d["recall@10"] == 0.75 and d["recall@1"] <= d["recall@5"] <= d["recall@10"], (mode, d)
        assert 0 < d["p50_ms"] <= d["p95_ms"]
    assert results["hybrid"]["answer_hit"] > 0
    assert results["hybrid"]["recall@5"] >= max(results["dense"]["recall@5"], results["lexical"]["recall@5"])
