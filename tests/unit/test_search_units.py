"""Search's pure parts: the FTS5 query text, fusion, the per-page cap, filter validation."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from ingest.errors import ConfigError, NotReady
from ingest.index.embed import FakeEmbedder
from retrieval.query.fusion import convex_fuse
from retrieval.query.searcher import Filters, Hit, Searcher, cap_per_page, fts_query, rrf_fuse


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


def test_convex_fuse_scales_each_method_and_weighs_by_share():
    scored = {"dense": [("a", 0.9), ("b", 0.7), ("c", 0.5)], "lexical": [("c", 12.0), ("d", 2.0)]}
    fused = convex_fuse(scored, {"dense": 0.4, "lexical": 0.6})
    scores = {i: s for i, s, _ in fused}
    # dense scaled over its own candidates: a 1, b 0.5, c 0; lexical: c 1, d 0
    assert scores == pytest.approx({"a": 0.4, "b": 0.2, "c": 0.6, "d": 0.0})
    assert [i for i, _, _ in fused] == ["c", "a", "b", "d"]
    assert {i: r for i, _, r in fused}["c"] == {"dense": 3, "lexical": 1}
    # shares are relative (a sum other than 1 gives the same order) and a lone method keeps its order
    assert [i for i, _, _ in convex_fuse(scored, {"dense": 2, "lexical": 3})] == ["c", "a", "b", "d"]
    assert [i for i, _, _ in convex_fuse({"dense": scored["dense"]}, {"dense": 0.4})] == ["a", "b", "c"]
    # all scores equal: 1 each, not a division by zero; an empty list adds nothing
    same = convex_fuse({"lexical": [("x", 3.0), ("y", 3.0)], "dense": []}, {"dense": 0.5, "lexical": 0.5})
    assert [(i, s) for i, s, _ in same] == [("x", 0.5), ("y", 0.5)]


def test_cap_per_page_keeps_order_and_limit():
    hits = [Hit(f"{p}:{i}", p, "", "", "", "", "", 1.0) for p, i in
            [("1", 0), ("1", 1), ("1", 2), ("2", 0), ("1", 3), ("3", 0)]]
    kept = cap_per_page(hits, per_page=2, k=4)
    assert [h.chunk_id for h in kept] == ["1:0", "1:1", "2:0", "3:0"]


def test_filters_validate_dates_and_accept_strings():
    assert Filters(spaces="ENG").spaces == ("ENG",)
    with pytest.raises(ConfigError):
        Filters(updated_after="last tuesday")


def test_no_knowledge_base_is_not_ready(tmp_path):
    from ingest.config import load_settings

    with pytest.raises(NotReady):
        Searcher(load_settings(data={"dir": str(tmp_path / "empty")}), embedder=FakeEmbedder())


def test_code_like_queries_are_told_apart():
    from retrieval.query.lexical import code_like

    for query in ("What does CVD-4012 mean?", "default of wal.retention_hours", "max_retry_after",
                  "the getUserById call", "since 3.6"):  # a version too: bm25 matches it exactly
        assert code_like(query), query
    for query in ("Where was Super Bowl 50 held?", "How do I renew a token?", "in 2016, then", ""):
        assert not code_like(query), query
