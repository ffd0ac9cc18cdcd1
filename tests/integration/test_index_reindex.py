"""`kb reindex` mechanics: build beside, switch atomically, drop the old; crash safety; a live searcher."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from ingest.config import load_settings
from ingest.errors import IndexMismatch
from ingest.index.embed import FakeEmbedder
from ingest.index.gate import open_store
from ingest.index.rebuild import BUILDING_KEY, rebuild
from ingest.storage.ledger import Ledger
from ingest.storage.vectors import active_collection, list_collections, make_client
from tests.helpers import KB, ParaChunker, page, para_cleaner, rebuild_kb


@pytest.fixture()
def kb(tmp_path: Path) -> KB:
    kb = KB(load_settings(data={"dir": str(tmp_path / "kb")}, embed={"batch_size": 8}))
    kb.put(*(page(str(i), [f"topic{i} alpha", f"topic{i} beta"]) for i in range(40)))
    kb.put(page("99", ["gone"], status="trashed"))
    kb.run()
    return kb


def test_reindex_same_model_reuses_vectors_and_switches(kb: KB) -> None:
    old = active_collection(kb.settings)
    rows = kb.chunk_rows()
    report = rebuild_kb(kb, kb.embedder)
    assert report.old_collection == old and report.new_collection == active_collection(kb.settings) != old
    assert report.vectors_reused_from_old and report.index.chunks_embedded == 0
    assert report.index.chunks_reused == 80 and report.to_dict()["chunks"]["written"] == 80
    assert old not in list_collections(make_client(kb.settings))
    assert kb.chunk_rows() == rows and kb.ledger.get_meta(BUILDING_KEY) is None
    store = open_store(kb.settings, kb.embedder)
    assert store.name == report.new_collection and store.count() == 80
    assert kb.run().pages_unchanged == 40  # the fingerprints were carried over


def test_reindex_to_another_model_clears_the_mismatch(kb: KB) -> None:
    wider = FakeEmbedder(dimensions=32)
    with pytest.raises(IndexMismatch, match="kb reindex"):
        open_store(kb.settings, wider)
    report = rebuild_kb(kb, wider)
    assert not report.vectors_reused_from_old and report.index.chunks_embedded == 80
    assert open_store(kb.settings, wider).count() == 80
    with pytest.raises(IndexMismatch):
        open_store(kb.settings, kb.embedder)


class Boom(BaseException):
    pass


def test_crash_during_reindex_leaves_the_old_index_serving(kb: KB) -> None:
    old = active_collection(kb.settings)
    rows = kb.chunk_rows()
    calls = {"n": 0}

    def dying_cleaner(body: str, *, users: object = None) -> object:
        calls["n"] += 1
        if calls["n"] == 20:
            raise Boom("killed")
        return para_cleaner(body)

    with Ledger(kb.settings.data_dir) as reader, pytest.raises(Boom):
        rebuild(kb.settings, kb.ledger, reader, kb.embedder, chunker=ParaChunker(), cleaner=dying_cleaner)
    assert active_collection(kb.settings) == old and kb.chunk_rows() == rows
    leftover = kb.ledger.get_meta(BUILDING_KEY)
    assert leftover in list_collections(make_client(kb.settings))
    assert open_store(kb.settings, kb.embedder).count() == 80
    report = rebuild_kb(kb, kb.embedder)
    names = list_collections(make_client(kb.settings))
    assert leftover not in names and names == [report.new_collection]


class SlowFake(FakeEmbedder):
    """Slow enough that searches overlap the build; with `after`, it also waits (at most 60 s)
    for that event before embedding, so a build starts only once the searcher is where the test
    needs it, on a loaded machine too."""

    def __init__(self, after: threading.Event | None = None) -> None:
        super().__init__()
        self.after = after

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        if self.after is not None:
            self.after.wait(60)
        time.sleep(0.2)
        return super().embed_documents(texts)


def test_concurrent_searcher_never_sees_an_error_or_empty(kb: KB) -> None:
    searcher = open_store(kb.settings, kb.embedder, create=False)
    query = kb.embedder.embed_query("topic7 alpha")
    seen: list[object] = []
    done = threading.Event()
    names: list[str] = []
    followed = threading.Event()  # the searcher has answered from the first rebuild's collection
    first: list[str] = []

    def search() -> None:
        while not done.is_set():
            try:
                hits = searcher.query(query, 3)
                seen.append(hits[0].id if hits else "EMPTY")
                if searcher.name not in names:
                    names.append(searcher.name)
                if first and searcher.name == first[0]:
                    followed.set()
            except Exception as exc:  # broad on purpose: the assertion below names it
                seen.append(exc)

    thread = threading.Thread(target=search)
    thread.start()
    try:
        first.append(rebuild_kb(kb, SlowFake(), reuse_from=None).new_collection)
        # the second reindex drops the collection the searcher followed to; it starts embedding
        # only once the searcher has followed the first switch (it does within FOLLOW_EVERY)
        last = rebuild_kb(kb, SlowFake(after=followed), reuse_from=None).new_collection
        deadline = time.monotonic() + 60
        while names[-1] != last and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        done.set()
        thread.join()
    bad = [s for s in seen if not isinstance(s, str) or s == "EMPTY"]
    assert len(seen) > 10 and not bad, bad[:3]
    assert seen[-1] == "7:0"
    assert names[1:] == [first[0], last], f"the searcher followed both switches in order: {names}"
