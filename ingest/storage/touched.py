"""Touched pages: SQLite triggers on `pages` and `comments` record, for every page whose index input
changed, a sequence number (`touched.seq`, one more than the newest), so a long-running sync
(`ingest.pipeline.Ingester`) asks "which pages changed since my last pass?" without reading a page row.

A page's row counts as changed when a column that goes into its index fingerprint or its place changed
(not `last_seen_run` alone: a sweep marks every page seen); its comments count on any insert, delete
or real change. The schema (`TOUCHED_SCHEMA`) is applied by `Ledger` on every writable open (so an
older ledger gets it too); this module imports nothing of the ledger's, which imports it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Protocol

__all__ = ["TOUCHED_SCHEMA", "LedgerTouched"]

_PAGE_COLUMNS = ("kind", "version", "status", "updated_at", "url", "title", "space_key", "space_name",
                 "labels", "ancestors", "read_users", "read_groups", "acl", "rendered_version", "body",
                 "properties", "indexed_hash", "author", "created_at")
_COMMENT_COLUMNS = ("version", "updated_at", "body", "page_id", "location", "selection", "author")


def _touch(ref: str) -> str:
    # An upsert, not INSERT OR REPLACE: a trigger's OR clause gives way to the outer statement's.
    return (f"INSERT INTO touched(page_id, seq) VALUES ({ref}, (SELECT coalesce(max(seq), 0) + 1 "
            "FROM touched)) ON CONFLICT(page_id) DO UPDATE SET seq = excluded.seq;")


def _changed(columns: Sequence[str]) -> str:
    return " OR ".join(f"old.{c} IS NOT new.{c}" for c in columns)


TOUCHED_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS touched (page_id TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS touched_seq ON touched(seq);
CREATE TRIGGER IF NOT EXISTS pages_touched_ai AFTER INSERT ON pages BEGIN {_touch("new.id")} END;
CREATE TRIGGER IF NOT EXISTS pages_touched_ad AFTER DELETE ON pages BEGIN {_touch("old.id")} END;
CREATE TRIGGER IF NOT EXISTS pages_touched_au AFTER UPDATE OF id, {", ".join(_PAGE_COLUMNS)} ON pages
    WHEN old.id IS NOT new.id OR {_changed(_PAGE_COLUMNS)}
    BEGIN {_touch("old.id")} {_touch("new.id")} END;
CREATE TRIGGER IF NOT EXISTS comments_touched_ai AFTER INSERT ON comments BEGIN {_touch("new.page_id")} END;
CREATE TRIGGER IF NOT EXISTS comments_touched_ad AFTER DELETE ON comments BEGIN {_touch("old.page_id")} END;
CREATE TRIGGER IF NOT EXISTS comments_touched_au AFTER UPDATE ON comments
    WHEN old.id IS NOT new.id OR {_changed(_COMMENT_COLUMNS)}
    BEGIN {_touch("old.page_id")} {_touch("new.page_id")} END;
"""


class _Connected(Protocol):
    conn: sqlite3.Connection


class LedgerTouched:
    """Reads of the touched pages (a `Ledger`'s connection)."""

    def __init__(self, ledger: _Connected) -> None:
        self.conn = ledger.conn

    def newest(self) -> int:
        """The newest touch's sequence number (0 when none): what a pass has seen, once it ends."""
        return int(self.conn.execute("SELECT coalesce(max(seq), 0) FROM touched").fetchone()[0])

    def since(self, mark: int, spaces: Sequence[str] | None = None) -> set[str]:
        """The current pages (in `spaces`, when given) touched after `mark`."""
        where = f" AND p.space_key IN ({', '.join('?' * len(spaces))})" if spaces else ""
        return {str(r[0]) for r in self.conn.execute(
            "SELECT t.page_id FROM touched t JOIN pages p ON p.id = t.page_id "
            f"WHERE t.seq > ? AND p.status = 'current'{where}", (mark, *(spaces or ())))}
