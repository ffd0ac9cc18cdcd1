"""Search plumbing on a tiny hand-built index (FakeEmbedder, real Chroma and SQLite FTS5)."""

from __future__ import annotations

import pytest

from ingest.errors import ConfigError
from ingest.index.embed import FakeEmbedder
from retrieval.query.searcher import Filters, Hit, Searcher

HOSTILE = ['"unbalanced quote', "gateway AND", "OR", "NOT deploy", "deploy*", "NEAR(", "NEAR(gateway deploy",
           "(registry token", "token)", "a:b ^c -d +e", "max_retry_after", "ERR-4012", '""', "{col}: x",
           "gateway; DROP TABLE chunks; --", "**", "'single'"]


@pytest.fixture
def searcher(tiny_kb):
    s = Searcher(tiny_kb, embedder=FakeEmbedder())
    yield s
    s.close()


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_modes_find_the_error_code(searcher, mode):
    hits = searcher.search("ERR-4012 registry token expired renew", k=3, mode=mode)
    assert hits, mode
    assert hits[0].chunk_id == "101:1"
    assert set(hits[0].ranks) <= {"dense", "lexical"} and hits[0].title == "Deploying the gateway"
    assert hits[0].url.endswith("/pages/101") and hits[0].heading_path == "Errors"
    if mode == "hybrid":
        assert set(hits[0].ranks) == {"dense", "lexical"}
        assert hits[0].similarity is not None


def test_unknown_mode_is_a_config_error(searcher):
    with pytest.raises(ConfigError):
        searcher.search("x", mode="fuzzy")


@pytest.mark.parametrize("query", HOSTILE)
@pytest.mark.parametrize("mode", ["hybrid", "lexical"])
def test_fts_hostile_queries_return_results_not_errors(searcher, query, mode):
    hits = searcher.search(query, k=5, mode=mode)
    assert all(isinstance(h, Hit) for h in hits)
    if mode == "hybrid":  # the dense side always answers, whatever the lexical side made of it
        assert hits


def test_hostile_queries_with_known_words_find_them(searcher):
    for query in ['"registry token', "NEAR(registry token", "(registry AND token", "registry* token)"]:
        hits = searcher.search(query, k=3, mode="lexical")
        assert hits and any("registry token" in h.text for h in hits), query


def test_per_page_cap(searcher, tiny_kb):
    query = "gateway deploy registry token image health check"
    old = tiny_kb.retrieval.per_page
    for per_page in (1, 2):
        tiny_kb.retrieval.per_page = per_page
        hits = searcher.search(query, k=10)
        counts: dict[str, int] = {}
        for h in hits:
            counts[h.page_id] = counts.get(h.page_id, 0) + 1
        assert max(counts.values()) == per_page
    tiny_kb.retrieval.per_page = old


QUERY = "gateway registry token deploy errors holiday on-call"


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
@pytest.mark.parametrize("filters,check", [
    (Filters(spaces=("OPS",)), lambda h: h.space_key == "OPS"),
    (Filters(spaces=("OPS", "HR")), lambda h: h.space_key in {"OPS", "HR"}),
    (Filters(kinds=("blogpost",)), lambda h: h.kind == "blogpost"),
    (Filters(labels=("gateway",)), lambda h: "gateway" in h.labels),
    (Filters(updated_after="2024-03-01"), lambda h: h.updated_at >= "2024-03-01"),
    (Filters(updated_before="2023-12-31T23:59:59Z"), lambda h: h.updated_at <= "2023-12-31T23:59:59Z"),
    (Filters(page_ids=("103", "105")), lambda h: h.page_id in {"103", "105"}),
    (Filters(spaces=("ENG",), labels=("config",)), lambda h: h.page_id == "102"),
])
def test_each_filter_holds(searcher, filters, check, mode):
    hits = searcher.search(QUERY, k=10, filters=filters, mode=mode)
    assert hits, (filters, mode)
    assert all(check(h) for h in hits), [(h.page_id, h.space_key, h.kind, h.updated_at) for h in hits]
    unfiltered = searcher.search(QUERY, k=10, mode=mode)
    assert len({h.page_id for h in unfiltered}) > len({h.page_id for h in hits})


def test_filters_that_match_nothing_give_no_hits(searcher):
    assert searcher.search(QUERY, filters=Filters(labels=("nope",))) == []
    assert searcher.search(QUERY, filters={"spaces": ["NOPE"]}) == []


def test_trashed_pages_are_not_returned(searcher, tiny_kb):
    from ingest.storage.ledger import Ledger

    with Ledger(tiny_kb.data_dir) as ledger:
        ledger.set_page_status("101", "trashed")
    hits = searcher.search("ERR-4012 registry token", k=10)
    assert hits and all(h.page_id != "101" for h in hits)


def test_module_search_api(tiny_kb):
    from retrieval import search

    hits = search("holiday allowance", tiny_kb, k=2, embedder=FakeEmbedder())
    assert hits[0].page_id == "105"
    assert hits[0].to_dict()["labels"] == ["policy"]


def test_large_index_leaves_out_very_common_terms(searcher, monkeypatch):
    import retrieval.query.searcher as mod

    monkeypatch.setattr(mod, "PRUNE_MIN_CHUNKS", 0)
    monkeypatch.setattr(mod, "PRUNE_CAP_FLOOR", 3)
    assert searcher._match(["gateway", "renew"]) == '"renew"'  # "gateway" is in 3+ chunks
    assert searcher._match(["gateway", "the"]) == '"gateway" AND "the"'
    hits = searcher.search("gateway renew", k=3, mode="lexical")
    assert hits[0].chunk_id == "101:1"
    monkeypatch.setattr(mod, "PRUNE_MIN_CHUNKS", 10**9)
    assert searcher._match(["gateway", "renew"]) == '"gateway" OR "renew"'
