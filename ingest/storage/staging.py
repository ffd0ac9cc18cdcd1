"""Reindex's staging file: the new index's chunk rows and page fingerprints until the switch.

Its rows go to `reindex.sqlite3`, not to the live chunks table, so the lexical index and chunk texts
stay those of the serving collection. The switch is one ledger transaction: chunk rows replaced from
staging (FTS5 follows by trigger), every page's indexed version and fingerprint, and the active
collection. Readers (WAL) see all of it or none of it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ingest.storage.chunks import chunk_row
from ingest.storage.ledger import Ledger
from ingest.storage.vectors import ACTIVE_KEY

BUILDING_KEY = "reindex_building"

_STAGING_SCHEMA = """
CREATE TABLE chunks (id TEXT PRIMARY KEY, page_id TEXT NOT NULL, idx INTEGER NOT NULL,
    text_hash TEXT NOT NULL, header TEXT NOT NULL, heading_path TEXT NOT NULL, text TEXT NOT NULL,
    tokens INTEGER NOT NULL, anchor TEXT NOT NULL DEFAULT '');
CREATE TABLE pages (id TEXT PRIMARY KEY, indexed_version INTEGER, indexed_hash TEXT,
    properties TEXT NOT NULL DEFAULT '{}');
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
                self.conn.executemany("INSERT OR REPLACE INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                      [chunk_row(c) for c in work.chunks])
                self.conn.execute("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?)",
                                  (work.page.id, work.page.version, work.fingerprint,
                                   getattr(work, "properties", "{}")))

    def switch(self, ledger: Ledger, collection: str) -> None:
        """One ledger transaction: chunk rows, page fingerprints and the active collection."""
        self.conn.close()
        ledger.conn.execute("ATTACH DATABASE ? AS staging", (str(self.path),))
        try:
            with ledger.tx() as conn:
                conn.execute("DELETE FROM chunks")
                conn.execute("INSERT INTO chunks(id, page_id, idx, text_hash, header, heading_path, text, "
                             "tokens, anchor) SELECT id, page_id, idx, text_hash, header, heading_path, "
                             "text, tokens, anchor FROM staging.chunks ORDER BY page_id, idx")
                conn.execute("UPDATE pages SET indexed_version = NULL, indexed_hash = NULL")
                conn.execute("UPDATE pages SET indexed_version = s.indexed_version, indexed_hash = "
                             "s.indexed_hash, properties = s.properties FROM staging.pages AS s "
                             "WHERE s.id = pages.id")
                ledger.set_meta(ACTIVE_KEY, collection)
                conn.execute("DELETE FROM meta WHERE key = ?", (BUILDING_KEY,))
        finally:
            ledger.conn.execute("DETACH DATABASE staging")

    def remove(self) -> None:
        with contextlib.suppress(sqlite3.ProgrammingError):
            self.conn.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
