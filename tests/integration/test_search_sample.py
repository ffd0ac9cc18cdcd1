"""Search and answers on the sample space with the REAL bundled model: the emulator serves the sample
space, the real pipeline ingests it once for the module, then quality, filters, the per-page cap,
FTS-hostile queries, not-found, citations, the LLM path and the CLI are checked against it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from typer.testing import CliRunner

from ingest.config import load_settings
from retrieval.query.answer import Answerer
from retrieval.query.evaluate import KEYS, evaluate, read_qa
from retrieval.query.searcher import Filters, Searcher

# One real-model ingest for the module; on a busy 2-core machine it and the first evaluation take minutes.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

NONSENSE = ["zxqv blorf plimpkin wubbly", "What is the capital of France?", "How do I bake sourdough bread?",
            "recipe for chocolate cake with cherries"]
HOSTILE = ['"CVD-4012', "wal.retention_hours AND", "NEAR(gateway", "(corvidctl drain", "gateway OR OR NOT",
           "CVD-40*", "tls.min_version)", "port:9187 ^metrics", "'Idempotency-Key"]


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Searcher, Any]]:
    from emulator.corpus import SAMPLE_QA  # noqa: F401  (the sample must be there)
    from emulator.testing import running_emulator
    from ingest.index.embed import load_embedder
    from ingest.pipeline import ingest

    data = tmp_path_factory.mktemp("sample") / "kb"
    with running_emulator(sample=True) as emu:
        settings = load_settings(confluence={**emu.confluence_settings(), "spaces": []},
                                 data={"dir": str(data)})
        embedder = load_embedder(settings)
        ingest(settings, embedder=embedder)
    searcher = Searcher(settings, embedder=embedder)
    yield settings, searcher, embedder
    searcher.close()


@pytest.fixture(scope="module")
def qa_path() -> str:
    from emulator.corpus import SAMPLE_QA

    return str(SAMPLE_QA)


def test_hybrid_recall_at_5_is_at_least_the_better_single_method(kb, qa_path):
    settings, searcher, _ = kb
    reports = {m: evaluate(settings, qa_path, mode=m, searcher=searcher, with_answers=m == "hybrid").to_dict()
               for m in ("hybrid", "dense", "lexical")}
    print(json.dumps(reports, indent=1))
    for report in reports.values():  # the sample's refused lines (asked as someone who may not read
        # the gold page) add two keys; none of them may leak
        assert list(report) == [*KEYS, "refused", "leaks"] and report["questions"] >= 30
        assert report["refused"] >= 2 and report["leaks"] == 0
    hybrid = reports["hybrid"]
    assert hybrid["recall@5"] >= max(reports["dense"]["recall@5"], reports["lexical"]["recall@5"])
    assert hybrid["recall@5"] >= 0.9 and hybrid["mrr@10"] >= 0.75 and hybrid["answer_hit"] >= 0.6


def test_every_citation_points_to_a_hit(kb, qa_path):
    _, searcher, _ = kb
    answerer = Answerer(searcher)
    found = 0
    for item in read_qa(qa_path):
        answer = answerer.ask(item.question)
        hits = {h.chunk_id: h for h in answer.hits}
        assert all(c.chunk_id in hits and c.url == hits[c.chunk_id].url for c in answer.citations), item
        assert not answer.not_found or not answer.citations
        for c in answer.citations:
            assert f"[{c.number}]" in answer.text and c.quote
        found += not answer.not_found
    assert found >= 30


@pytest.mark.parametrize("question", NONSENSE)
def test_nonsense_is_not_found(kb, question):
    _, searcher, _ = kb
    answer = Answerer(searcher).ask(question)
    assert answer.not_found and not answer.citations and answer.text.startswith("Not found")


@pytest.mark.parametrize("filters,check", [
    (Filters(spaces=("CVSUP",)), lambda h: h.space_key == "CVSUP"),
    (Filters(kinds=("blogpost",)), lambda h: h.kind == "blogpost"),
    (Filters(labels=("runbook",)), lambda h: "runbook" in h.labels),
    (Filters(updated_after="2024-10-01"), lambda h: h.updated_at >= "2024-10-01"),
    (Filters(updated_before="2024-06-01T00:00:00Z"), lambda h: h.updated_at < "2024-06-01"),
    (Filters(page_ids=("65622", "65635")), lambda h: h.page_id in {"65622", "65635"}),
])
@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_each_filter_holds(kb, filters, check, mode):
    _, searcher, _ = kb
    hits = searcher.search("WAL disk full gateway errors support", k=10, filters=filters, mode=mode)
    assert hits and all(check(h) for h in hits), \
        [(h.page_id, h.space_key, h.kind, h.updated_at) for h in hits]


@pytest.mark.parametrize("per_page", [1, 2, 3])
def test_per_page_cap(kb, per_page):
    settings, searcher, _ = kb
    old = settings.retrieval.per_page
    settings.retrieval.per_page = per_page
    try:
        hits = searcher.search("wal.retention_hours write-ahead log segments retention", k=10)
    finally:
        settings.retrieval.per_page = old
    counts: dict[str, int] = {}
    for h in hits:
        counts[h.page_id] = counts.get(h.page_id, 0) + 1
    assert len(hits) == 10 and max(counts.values()) == per_page


@pytest.mark.parametrize("query", HOSTILE)
def test_fts_hostile_queries_return_results(kb, query):
    _, searcher, _ = kb
    for mode in ("hybrid", "lexical"):
        assert searcher.search(query, k=5, mode=mode), (query, mode)


def test_exact_terms_win_lexically(kb):
    _, searcher, _ = kb
    hits = searcher.search("CVD-2044", k=3)
    assert any("CVD-2044" in h.text for h in hits) and "lexical" in hits[0].ranks


def test_llm_path_on_the_real_index(kb):
    _, searcher, _ = kb
    llm = FakeListChatModel(responses=["Port 9187 serves the metrics [1]; see also [2] and [11]."])
    answer = Answerer(searcher, llm=llm).ask("Which port serves the Prometheus metrics?")
    assert answer.method == "llm" and len(answer.citations) == 2 and "[11]" not in answer.text
    assert {c.chunk_id for c in answer.citations} <= {h.chunk_id for h in answer.hits}


def test_cli_search_ask_eval_json(kb, qa_path, monkeypatch):
    from retrieval.cli import STATE, app

    settings, _, _ = kb
    monkeypatch.setattr(STATE, "_settings", settings)
    runner = CliRunner()
    res = runner.invoke(app, ["search", "CVD-4012 disk full", "--k", "3", "--space", "CORVID", "--json"])
    assert res.exit_code == 0, res.output
    hits = json.loads(res.stdout)["hits"]
    assert len(hits) == 3 and all(h["space_key"] == "CORVID" for h in hits)
    res = runner.invoke(app, ["ask", "Which port serves the Prometheus metrics?"])
    assert res.exit_code == 0 and "9187" in res.stdout and "  [1] " in res.stdout and "https://" in res.stdout
    res = runner.invoke(app, ["eval", "--qa", qa_path, "--mode", "lexical", "--json"])
    assert res.exit_code == 0, res.output
    assert list(json.loads(res.stdout)) == [*KEYS, "refused", "leaks"]
