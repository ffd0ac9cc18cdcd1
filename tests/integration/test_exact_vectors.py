"""Unfiltered dense search by an exact scan (ingest.storage.exact): the same ids as a brute-force search
over what the store holds, kept in step with edits, deletions, new pages and a reindex's switch, and
HNSW once the index is larger than `[chroma] exact_search_max`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.config import load_settings
from ingest.index.gate import open_store
from ingest.storage import exact
from retrieval.query.searcher import Searcher
from tests.helpers import KB, page, rebuild_kb

WORDS = ("kafka", "billing", "gateway", "restart", "timeout", "schema", "ledger", "vault", "queue", "cache")


def paragraphs(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=8)) + f" note {seed}-{i}" for i in range(n)]


def brute_force(kb: KB, vector: np.ndarray) -> dict[str, float]:
    """chunk id -> cosine similarity to `vector`, for every vector the store holds."""
    rows = list(kb.store.iter_all(vectors=True))
    matrix = np.asarray([r[1] for r in rows], dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    scores = matrix @ (vector / np.linalg.norm(vector))
    return {r[0]: float(s) for r, s in zip(rows, scores, strict=True)}


@pytest.fixture
def kb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KB:
    monkeypatch.setattr(exact, "CHECK_EVERY", 0.0)  # look at the ledger on every query
    kb = KB(load_settings(data={"dir": str(tmp_path / "kb")}))
    kb.put(*(page(str(1000 + i), paragraphs(3, i)) for i in range(30)))
    kb.run()
    return kb


def check_exact(searcher: Searcher, kb: KB, n: int = 20) -> None:
    for text in ("kafka restart timeout", "billing schema vault", "queue cache gateway ledger"):
        vector = np.asarray(kb.embedder.embed_query(text), dtype=np.float32)
        ids, distances = searcher.vectors.query_ids(vector, n)
        truth = brute_force(kb, vector)
        best = sorted(truth.values(), reverse=True)[:n]
        got = [1.0 - d for d in distances]
        # exact: the same scores as the true top n, and each id really has its score (ties may
        # come in any order: the stand-in embedder's vectors are small integer counts)
        assert np.allclose(got, best, atol=1e-5), text
        assert all(abs(truth[cid] - score) < 1e-5 for cid, score in zip(ids, got, strict=True)), text


def test_the_scan_is_exact_and_follows_edits_deletions_and_new_pages(kb: KB) -> None:
    searcher = Searcher(kb.settings, embedder=kb.embedder)
    try:
        check_exact(searcher, kb)
        assert searcher.vectors.size == kb.store.count() == 90
        kb.put(page("1000", paragraphs(4, 100), version=2),        # edited: 4 new paragraphs
               page("1001", paragraphs(3, 1), status="trashed"),    # gone
               page("2000", paragraphs(2, 200)))                    # new
        kb.run()
        check_exact(searcher, kb)
        assert searcher.vectors.size == kb.store.count() == 90 + 1 - 3 + 2
        new = next(cid for cid, _, _ in kb.store.iter_all() if cid.startswith("2000:"))
        vector = kb.store.get_vectors([new])[new]
        assert searcher.vectors.query_ids(vector, 1)[0] == [new]
        assert not set(searcher.vectors.query_ids(vector, 200)[0]) & {f"1001:{i}" for i in range(3)}
    finally:
        searcher.close()


def test_a_reindex_switch_reloads_the_new_collection(kb: KB) -> None:
    searcher = Searcher(kb.settings, embedder=kb.embedder)
    try:
        check_exact(searcher, kb)
        before = searcher.vectors._collection
        rebuild_kb(kb, kb.embedder)
        kb.store = open_store(kb.settings, kb.embedder)  # the new active collection, to compare against
        check_exact(searcher, kb)
        assert searcher.vectors._collection != before
    finally:
        searcher.close()


def test_above_the_limit_dense_search_uses_the_graph(kb: KB) -> None:
    settings = kb.settings.model_copy(update={"chroma": kb.settings.chroma.model_copy(
        update={"exact_search_max": 50})})
    searcher = Searcher(settings, embedder=kb.embedder)
    try:
        vector = np.asarray(kb.embedder.embed_query("kafka restart"), dtype=np.float32)
        assert searcher.vectors.sync() is False and searcher.vectors.size == 0
        assert searcher.vectors.query_ids(vector, 10) == kb.store.query_ids(vector, 10)
        hits = searcher.search("kafka restart", mode="dense", k=5)
        assert len(hits) == 5
    finally:
        searcher.close()


def test_a_reopened_searcher_keeps_the_matrix_and_reads_only_what_changed(kb: KB) -> None:
    """What the server does when another process wrote the index: a new Searcher, the old matrix."""
    first = Searcher(kb.settings, embedder=kb.embedder)
    check_exact(first, kb)
    kb.put(page("1000", paragraphs(3, 300), version=2))
    kb.run()
    second = Searcher(kb.settings, embedder=kb.embedder)
    try:
        asked: list[str] = []
        get = second.store.get
        second.store.get = lambda ids, **kw: asked.extend(ids) or get(ids, **kw)  # type: ignore[method-assign]
        second.adopt_vectors(first)
        check_exact(second, kb)
        assert sorted(asked) == ["1000:0", "1000:1", "1000:2"]  # the edited page's chunks, nothing else
    finally:
        first.close()
        second.close()
