"""Search plumbing on a tiny hand-built index (FakeEmbedder, real Chroma and SQLite FTS5)."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from ingest.index.embed import FakeEmbedder
from ingest.errors import ConfigError, NotReady
from retrieval.query.searcher import Filters, Hit, Searcher, cap_per_page, fts_query, rrf_fuse

HOSTILE = ['"unbalanced quote', "gateway AND", "OR", "NOT deploy", "deploy*", "NEAR(", "NEAR(gateway deploy",
           "(registry token", "token)", "a:b ^c -d +e", "max_retry_after", "ERR-4012", '""', "{col}: x",
           "gateway; DROP TABLE chunks; --", "**", "'single'"]


@pytest.fixture
def searcher(tiny_kb):
    s = Searcher(tiny_kb, embedder=FakeEmbedder())
    yield s
    s.close()


def test_fts_query_quotes_every_word():
    assert fts_query('NEAR(deploy "gateway" AND x*') == '"near" OR "deploy" OR "gateway" OR "x"'
    assert fts_query("what is it") == '"what" OR "is" OR "it"'
    assert fts_query("((( ***") == ""
    assert fts_query("ERR-4012") == '"err" OR "4012"'


@hsettings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_fts_query_is_never_a_syntax_error(text):
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='porter unicode61')")
    conn.execute("INSERT INTO t VALUES ('some text here')")
    match = fts_query(text)
    if match:
        conn.execute("SELECT * FROM t WHERE t MATCH ?", (match,)).fetchall()


def test_rrf_fuse_orders_by_summed_reciprocal_rank():
    fused = rrf_fuse({"dense": ["a", "b", "c"], "lexical": ["c", "b", "d"]}, k=60)
    ids = [i for i, _, _ in fused]
    assert ids[0] in {"b", "c"} and ids[-1] in {"a", "d"}
    ranks = {i: r for i, _, r in fused}
    assert ranks["b"] == {"dense": 2, "lexical": 2} and ranks["a"] == {"dense": 1}
    scores = {i: s for i, s, _ in fused}
    assert scores["b"] == pytest.approx(2 / 62)


def test_cap_per_page_keeps_order_and_limit():
    hits = [Hit(f"{p}:{i}", p, "", "", "", "", "", 1.0) for p, i in
            [("1", 0), ("1", 1), ("1", 2), ("2", 0), ("1", 3), ("3", 0)]]
    kept = cap_per_page(hits, per_page=2, k=4)
    assert [h.chunk_id for h in kept] == ["1:0", "1:1", "2:0", "3:0"]


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
    for per_page in (1, 2):
        tiny_kb.retrieval.per_page = per_page
        hits = searcher.search(query, k=10)
        counts: dict[str, int] = {}
        for h in hits:
            counts[h.page_id] = counts.get(h.page_id, 0) + 1
        assert max(counts.values()) == per_page
    tiny_kb.retrieval.per_page = 2


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


def test_filters_validate_dates_and_accept_strings():
    assert Filters(spaces="ENG").spaces == ("ENG",)
    with pytest.raises(ConfigError):
        Filters(updated_after="last tuesday")


def test_trashed_pages_are_not_returned(searcher, tiny_kb):
    from ingest.storage.ledger import Ledger

    with Ledger(tiny_kb.data_dir) as ledger:
        ledger.set_page_status("101", "trashed")
    hits = searcher.search("ERR-4012 registry token", k=10)
    assert hits and all(h.page_id != "101" for h in hits)


def test_no_knowledge_base_is_not_ready(tmp_path):
    from ingest.config import load_settings

    with pytest.raises(NotReady):
        Searcher(load_settings(data={"dir": str(tmp_path / "empty")}), embedder=FakeEmbedder())


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
