"""`kb reindex` without downtime: build beside the live index, then switch in one transaction.

The new collection is filled from the ledger's pages (no Confluence call) while searches keep using
the active one. Its chunk rows go to a staging SQLite file (`reindex.sqlite3`), not to the live
chunks table, so the lexical index and chunk texts stay those of the serving collection. The switch
is one ledger transaction: chunk rows replaced from staging (FTS5 follows by trigger), every page's
indexed version and fingerprint, and `active_collection`. Readers (WAL) see all of it or none of it.
A crash before the switch leaves the old index serving; the next reindex drops the leftover.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ingest.config import Settings
from ingest.index.gate import collection_gate
from ingest.index.indexer import Indexer, IndexReport
from ingest.storage.ledger import Ledger
from ingest.storage.staging import BUILDING_KEY, Staging


@dataclass(frozen=True)
class ReindexReport:
    old_collection: str | None
    new_collection: str
    index: IndexReport
    vectors_reused_from_old: bool
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"old_collection": self.old_collection, "new_collection": self.new_collection,
                "reused_old_vectors": self.vectors_reused_from_old, **self.index.to_dict(),
                "seconds": round(self.seconds, 3)}


def rebuild(settings: Settings, ledger: Ledger, reader: Ledger, embedder: Any, *, progress: Any = None,
            grace_seconds: float = 0.5, **indexer_kw: Any) -> ReindexReport:
    """Build a new collection from the ledger's pages, switch to it, drop the old one."""
    from ingest.storage import vectors as st

    started = time.perf_counter()
    client = st.make_client(settings)
    old_name = st.active_collection(settings)
    leftover = ledger.get_meta(BUILDING_KEY)
    if leftover and leftover != old_name:
        st.drop_collection(client, leftover)
    new_name = f"{settings.chroma.collection}-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**6:06d}"
    with ledger.tx():
        ledger.set_meta(BUILDING_KEY, new_name)
    gate = collection_gate(settings, embedder)
    new = st.Store(client, st.create_collection(client, new_name, gate), settings=settings, gate=gate)
    reuse = indexer_kw.pop("reuse_from") if "reuse_from" in indexer_kw else \
        _old_store_if_same_model(client, old_name, embedder)
    staging = Staging(settings.data_dir)
    try:
        indexer = Indexer(settings, ledger, new, embedder, reuse_from=reuse, sink=staging, **indexer_kw)
        total = ledger.count_pages("current")
        report = indexer.run(reader.iter_pages(), full=True, progress=progress, total=total)
        staging.switch(ledger, new_name)
    finally:
        staging.remove()
    if old_name and old_name != new_name:
        time.sleep(grace_seconds)  # a query that read the old name a moment ago finishes on it
        st.drop_collection(client, old_name)
    return ReindexReport(old_name, new_name, report, reuse is not None, time.perf_counter() - started)


def _old_store_if_same_model(client: Any, old_name: str | None, embedder: Any) -> Any:
    """The old collection, to reuse its vectors by text hash, when it was built by the same model."""
    from ingest.storage import vectors as st

    if not old_name or old_name not in st.list_collections(client):
        return None
    collection = client.get_collection(old_name, embedding_function=None)
    meta = collection.metadata or {}
    if meta.get("model_id") != embedder.model_id or meta.get("dimensions") != embedder.dimensions:
        return None
    return st.Store(client, collection)
