"""The dense side for a principal: a large unfiltered pool narrowed by the ledger, when that is cheaper
than Chroma's `where`, must give what the filtered query gives (the best visible chunks)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from ingest.index.embed import FakeEmbedder
from retrieval.query.searcher import Filters, Searcher
from tests.helpers import ROOT


def _bench_query() -> object:
    spec = importlib.util.spec_from_file_location("bench_query", ROOT / "bench" / "query.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_query"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_pool_gives_the_filtered_querys_best_visible_chunks(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import retrieval.query.dense_plan as dense_plan

    # at 3,000 chunks `where` is the cheaper plan; the pool's crossover is near 20,000 (a 10% share)
    monkeypatch.setattr(dense_plan, "WHERE_COST", 10.0)
    bench = _bench_query()
    embedder = FakeEmbedder()
    settings = bench.build(tmp_path, 3000, embedder)  # type: ignore[attr-defined]
    searcher = Searcher(settings, embedder=embedder)
    try:
        who = bench.BENCH_USER  # type: ignore[attr-defined]
        acls = searcher.visible_acls(who)
        assert acls
        for query in ("kafka leader lost", "restart the billing service", "raise timeout_seconds"):
            vector = embedder.embed_query(query)
            planned = searcher._dense_within(vector, 50, acls)
            assert planned is not None, "the pool should be the plan"
            where = searcher.store.query(vector, 50, where={"acl": {"$in": list(acls)}},
                                         include_metadata=False)
            assert len(planned) == 50 and all(int(cid.split(":")[0]) % 10 == 3 for cid, _ in planned)
            overlap = len({cid for cid, _ in planned} & {h.id for h in where}) / 50
            assert overlap >= 0.9, overlap
            hits = searcher.search(query, k=5, mode="dense", principal=who)
            assert len(hits) == 5 and all(int(h.page_id) % 10 == 3 for h in hits)
        assert searcher.search("kafka", k=5, filters=Filters(spaces=("ENG",)), principal=who)  # where path
    finally:
        searcher.close()
