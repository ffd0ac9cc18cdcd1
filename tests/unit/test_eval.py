"""The evaluator's metrics on the tiny index (FakeEmbedder) with a hand-written TINY_QA file."""

from __future__ import annotations

import math

import pytest

from ingest.errors import ConfigError
from retrieval.query.evaluate import KEYS, QAItem, _report, first_relevant_rank, ndcg, read_qa
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


def test_report_without_answers_says_so():
    d = _report([1, None], None, [5.0, 6.0], "lexical", ndcgs=[1.0, 0.0]).to_dict()
    assert d["answer_hit"] is None and d["ndcg@10"] == 0.5 and d["recall@1"] == 0.5
    assert _report([], None, [], "dense").to_dict()["answer_hit"] is None


def test_ndcg_over_pages_binary_and_graded():
    assert ndcg(["1", "1", "2"], {"1": 1.0}) == 1.0  # a page's later chunks count nothing
    assert ndcg(["2", "1"], {"1": 1.0}) == pytest.approx(1 / math.log2(3))
    assert ndcg(["3", "4"], {"1": 1.0}) == 0.0 and ndcg(["1"], {}) == 0.0
    # graded: the better page second costs against the ideal order (2 then 1)
    got = ndcg(["b", "a"], {"a": 2.0, "b": 1.0})
    assert got == pytest.approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))
    assert ndcg([str(i) for i in range(20)], {"15": 1.0}) == 0.0  # beyond @10


def test_graded_gold_is_read_as_grades(tmp_path):
    qa = tmp_path / "qa.jsonl"
    qa.write_text('{"question": "q", "gold": {"7": 2, "8": 1}}\n{"question": "r", "gold": ["9"]}\n',
                  encoding="utf-8")
    graded, binary = read_qa(qa)
    assert graded.gold == ("7", "8") and graded.gains() == {"7": 2.0, "8": 1.0}
    assert binary.gains() == {"9": 1.0}
    qa.write_text('{"question": "q", "gold": {"7": "high"}}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"qa\.jsonl:1"):
        list(read_qa(qa))
