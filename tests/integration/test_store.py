"""The Chroma store on a tmp dir: upsert/delete/get/query, the version gate, the active collection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.config import Settings, load_settings
from ingest.errors import IndexMismatch, NotReady
from ingest.index.embed import FakeEmbedder
from ingest.index.gate import collection_gate, open_store
from ingest.storage.vectors import (
    StoreHit,
    active_collection,
    create_collection,
    make_client,
    set_active_collection,
)


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return load_settings(data={"dir": str(tmp_path / "kb")})


def _meta(page: str, i: int) -> dict:
    return {"page_id": page, "kind": "page", "space_key": "ENG", "title": f"T{page}", "version": 1,
            "text_hash": f"h{page}{i}", "labels": ",a,b,"}


def test_upsert_query_get_delete(settings: Settings) -> None:
    fake = FakeEmbedder()
    store = open_store(settings, fake)
    assert active_collection(settings) == settings.chroma.collection == store.name
    texts = ["alpha beta gamma", "alpha beta delta", "zebra yak xylophone"]
    ids = ["1:0", "1:1", "2:0"]
    vecs = fake.embed_documents(texts)
    store.upsert(ids, vecs, [_meta("1", 0), _meta("1", 1), _meta("2", 0)])
    store.upsert(ids[:1], vecs[:1], [_meta("1", 0)])  # upsert, never add: still 3
    assert store.count() == 3
    hits = store.query(fake.embed_query("alpha beta gamma"), 2)
    assert [h.id for h in hits] == ["1:0", "1:1"] and isinstance(hits[0], StoreHit)
    assert hits[0].distance == pytest.approx(0.0, abs=1e-5) and hits[0].metadata["title"] == "T1"
    assert [h.id for h in store.query(fake.embed_query("alpha"), 5, where={"page_id": "2"})] == ["2:0"]
    bare = store.query(fake.embed_query("alpha beta gamma"), 2, include_metadata=False)
    assert [(h.id, round(h.distance, 5)) for h in bare] == [(h.id, round(h.distance, 5)) for h in hits]
    assert bare[0].metadata == {}
    got = store.get_vectors(["1:1", "nope"])
    assert list(got) == ["1:1"] and np.allclose(got["1:1"], vecs[1], atol=1e-6)
    assert store.ids_of_pages(["1", "3"]) == {"1": {"1:0", "1:1"}, "3": set()}
    store.delete(["1:1"])
    store.delete_pages(["2"])
    assert store.count() == 1 and {cid for cid, _, _ in store.iter_all(batch=1)} == {"1:0"}


def test_reopen_persists_and_checks_gate(settings: Settings) -> None:
    store = open_store(settings, FakeEmbedder(dimensions=16))
    store.upsert(["p:0"], FakeEmbedder(dimensions=16).embed_documents(["x"]), [_meta("p", 0)])
    again = open_store(settings, FakeEmbedder(dimensions=16))
    assert again.count() == 1 and again.metadata["dimensions"] == 16
    with pytest.raises(IndexMismatch, match="kb reindex") as err:
        open_store(settings, FakeEmbedder(dimensions=32))
    assert "model_id" in str(err.value) and "dimensions" in str(err.value)
    other = settings.model_copy(update={"chunk": settings.chunk.model_copy(update={"chunk_tokens": 100})})
    with pytest.raises(IndexMismatch, match="chunker"):
        open_store(other, FakeEmbedder(dimensions=16))


def test_no_active_collection_without_create(settings: Settings) -> None:
    with pytest.raises(NotReady):
        open_store(settings, FakeEmbedder(), create=False)


def test_store_follows_the_active_switch(settings: Settings) -> None:
    from ingest.storage.ledger import Ledger

    fake = FakeEmbedder()
    reader = open_store(settings, fake)
    reader.upsert(["old:0"], fake.embed_documents(["old"]), [_meta("old", 0)])
    client = make_client(settings)
    new = create_collection(client, "kb_next", collection_gate(settings, fake))
    new.upsert(ids=["new:0"], embeddings=fake.embed_documents(["new"]), metadatas=[_meta("new", 0)])
    with Ledger(settings.data_dir) as ledger:
        set_active_collection(ledger, "kb_next")
    client.delete_collection(settings.chroma.collection)
    assert [h.id for h in reader.query(fake.embed_query("new"), 3)] == ["new:0"]
    assert reader.name == "kb_next"
