"""The evaluator's metrics on the tiny index (FakeEmbedder) with a hand-written TINY_QA file."""

from __future__ import annotations

import pytest

from ingest.errors import ConfigError
from retrieval.query.evaluate import KEYS, QAItem, _report, first_relevant_rank, read_qa
from retrieval.query.searcher import Hit


def hit(page: str, text: str) -> Hit:
    return Hit(f"{page}:0", page, "", "", "", text, "", 0.0)


def test_relevance_needs_gold_page_and_answer_string():
    item = QAItem("q", ("1",), ("Renew  The Token",))
    hits = [hit("2", "renew the token"), hit("1", "unrelated"), hit("1", "then renew the\ntoken now")]
    assert first_relevant_rank(hits, item) == 3
    assert first_relevant_rank(hits, QAItem("q", ("1",))) == 2
    assert first_relevant_rank(hits, QAItem("q", ("9",))) is None


def test_report_metrics():
    report = _report([1, 3, None, 7], 2, [10.0, 20.0, 30.0, 40.0], "hybrid")
    d = report.to_dict()
    assert list(d) == list(KEYS)
    assert d["recall@1"] == 0.25 and d["recall@5"] == 0.5 and d["recall@10"] == 0.75
    assert d["mrr@10"] == pytest.approx((1 + 1 / 3 + 1 / 7) / 4, abs=1e-4)
    assert d["answer_hit"] == 0.5 and d["questions"] == 4 and d["p50_ms"] == 25.0


def test_bad_qa_lines_are_named(tmp_path):
    qa = tmp_path / "qa.jsonl"
    qa.write_text('{"question": "ok", "gold": ["1"]}\n{"question": "no gold"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"qa\.jsonl:2"):
        list(read_qa(qa))
    with pytest.raises(ConfigError, match="not found"):
        list(read_qa(tmp_path / "missing.jsonl"))
