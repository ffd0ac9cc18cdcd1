"""`kb reindex` without downtime: build beside the live index, then switch in one transaction.

The new collection is filled from the ledger's pages (no Confluence call) while searches keep using
the active one. Its chunk rows go to a staging SQLite file (`reindex.sqlite3`), not to the live
chunks table, so the lexical index and chunk texts stay those of the serving collection. The switch
is one ledger transaction: chunk rows replaced from staging (FTS5 follows by trigger), every page's
indexed version and fingerprint, and `active_collection`. Readers (WAL) see all of it or none of it.
A crash before the switch leaves the old index serving; the next reindex drops the leftover.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.chunk_rows import chunk_row
from ingest.index import Indexer, IndexReport
from ingest.store import ACTIVE_KEY

BUILDING_KEY = "reindex_building"

_STAGING_SCHEMA = """
CREATE TABLE chunks (id TEXT PRIMARY KEY, page_id TEXT NOT NULL, idx INTEGER NOT NULL,
    text_hash TEXT NOT NULL, header TEXT NOT NULL, heading_path TEXT NOT NULL, text TEXT NOT NULL,
    tokens INTEGER NOT NULL);
CREATE TABLE pages (id TEXT PRIMARY KEY, indexed_version INTEGER, indexed_hash TEXT);
"""


class Staging:
    """The new index's chunk rows and page fingerprints, until the switch."""

    FILENAME = "reindex.sqlite3"

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / self.FILENAME
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self.conn = sqlite3.connect(self.path, check_same_thread=False)
        self.conn.executescript(_STAGING_SCHEMA)

    def replace(self, works: Sequence[Any]) -> None:
        with self.conn:
            for work in works:
                self.conn.executemany("INSERT OR REPLACE INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                      [chunk_row(c) for c in work.chunks])
                self.conn.execute("INSERT OR REPLACE INTO pages VALUES (?, ?, ?)",
                                  (work.page.id, work.page.version, work.fingerprint))

    def switch(self, ledger: Any, collection: str) -> None:
        """One ledger transaction: chunk rows, page fingerprints and the active collection."""
        self.conn.close()
        ledger.conn.execute("ATTACH DATABASE ? AS staging", (str(self.path),))
        try:
            with ledger.tx() as conn:
                conn.execute("DELETE FROM chunks")
                conn.execute("INSERT INTO chunks(id, page_id, idx, text_hash, header, heading_path, text, "
                             "tokens) SELECT id, page_id, idx, text_hash, header, heading_path, text, tokens "
                             "FROM staging.chunks ORDER BY page_id, idx")
                conn.execute("UPDATE pages SET indexed_version = NULL, indexed_hash = NULL")
                conn.execute("UPDATE pages SET indexed_version = s.indexed_version, indexed_hash = "
                             "s.indexed_hash FROM staging.pages AS s WHERE s.id = pages.id")
                ledger.set_meta(ACTIVE_KEY, collection)
                conn.execute("DELETE FROM meta WHERE key = ?", (BUILDING_KEY,))
        finally:
            ledger.conn.execute("DETACH DATABASE staging")

    def remove(self) -> None:
        try:
            self.conn.close()
        except sqlite3.ProgrammingError:
            pass
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


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


def rebuild(settings: Any, ledger: Any, reader: Any, embedder: Any, *, progress: Any = None,
            grace_seconds: float = 0.5, **indexer_kw: Any) -> ReindexReport:
    """Build a new collection from the ledger's pages, switch to it, drop the old one."""
    from ingest import store as st

    started = time.perf_counter()
    client = st.make_client(settings)
    old_name = st.active_collection(settings)
    leftover = ledger.get_meta(BUILDING_KEY)
    if leftover and leftover != old_name:
        st.drop_collection(client, leftover)
    new_name = f"{settings.chroma.collection}-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**6:06d}"
    with ledger.tx():
        ledger.set_meta(BUILDING_KEY, new_name)
    new = st.Store(client, st.create_collection(client, new_name, settings, embedder), settings=settings,
                   embedder=embedder)
    reuse = indexer_kw.pop("reuse_from") if "reuse_from" in indexer_kw else \
        _old_store_if_same_model(client, old_name, embedder)
    staging = Staging(settings.data_dir)
    try:
        indexer = Indexer(settings, ledger, new, embedder, reuse_from=reuse, sink=staging, **indexer_kw)
        total = ledger.count("pages", "status = 'current'")
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
    from ingest import store as st

    if not old_name or old_name not in st.list_collections(client):
        return None
    collection = client.get_collection(old_name, embedding_function=None)
    meta = collection.metadata or {}
    if meta.get("model_id") != embedder.model_id or meta.get("dimensions") != embedder.dimensions:
        return None
    return st.Store(client, collection)
