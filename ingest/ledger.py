"""The ledger: SQLite under the data dir — pages, chunks (+ FTS5), runs, cursor, meta.

One file, `ledger.sqlite3`, in WAL mode so that searches read while an ingest writes.
Every multi-row change happens in one transaction (`with ledger.tx():`), so a crash leaves the
ledger as of the last commit. Stages add their queries here; the schema lives only here.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    space_key TEXT NOT NULL,
    space_name TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    author TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'current',
    labels TEXT NOT NULL DEFAULT '[]',
    ancestors TEXT NOT NULL DEFAULT '[]',
    read_users TEXT NOT NULL DEFAULT '[]',
    read_groups TEXT NOT NULL DEFAULT '[]',
    body TEXT NOT NULL DEFAULT '',
    last_seen_run INTEGER,
    indexed_version INTEGER,
    indexed_hash TEXT
);
CREATE INDEX IF NOT EXISTS pages_space ON pages(space_key);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    page_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    text_hash TEXT NOT NULL,
    header TEXT NOT NULL,
    heading_path TEXT NOT NULL DEFAULT '[]',
    text TEXT NOT NULL,
    tokens INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS chunks_page ON chunks(page_id);
CREATE INDEX IF NOT EXISTS chunks_hash ON chunks(text_hash);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    header, text, content='chunks', content_rowid='rowid', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, header, text) VALUES (new.rowid, new.header, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, header, text) VALUES ('delete', old.rowid, old.header, old.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_au AFTER UPDATE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, header, text) VALUES ('delete', old.rowid, old.header, old.text);
    INSERT INTO chunks_fts(rowid, header, text) VALUES (new.rowid, new.header, new.text);
END;
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL DEFAULT 'running',
    report TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS cursor (
    stream TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    run_id INTEGER
);
"""


class Ledger:
    """A connection to the ledger file. Construct at the edge, pass down, close when done."""

    FILENAME = "ledger.sqlite3"

    def __init__(self, data_dir: Path, *, readonly: bool = False) -> None:
        data_dir = Path(data_dir)
        self.path = data_dir / self.FILENAME
        if readonly:
            self.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30,
                                        check_same_thread=False)
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.isolation_level = None  # explicit transactions via tx()
        self.conn.execute("PRAGMA busy_timeout = 30000")
        if not readonly:
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            self.conn.executescript(SCHEMA)
            if self.get_meta("schema_version") is None:
                self.set_meta("schema_version", str(SCHEMA_VERSION))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all or nothing."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    # -- meta -----------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) "
                          "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    # -- runs -----------------------------------------------------------------------------------
    def start_run(self, kind: str) -> int:
        cur = self.conn.execute("INSERT INTO runs(kind, started_at) VALUES (?, ?)", (kind, time.time()))
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, status: str, report: dict[str, Any]) -> None:
        self.conn.execute("UPDATE runs SET finished_at = ?, status = ?, report = ? WHERE id = ?",
                          (time.time(), status, json.dumps(report), run_id))

    def last_run(self, kind: str | None = None) -> dict[str, Any] | None:
        sql = "SELECT * FROM runs" + (" WHERE kind = ?" if kind else "") + " ORDER BY id DESC LIMIT 1"
        row = self.conn.execute(sql, (kind,) if kind else ()).fetchone()
        if row is None:
            return None
        out = dict(row)
        out["report"] = json.loads(out["report"] or "{}")
        return out

    # -- cursor ---------------------------------------------------------------------------------
    def get_cursor(self, stream: str) -> str | None:
        row = self.conn.execute("SELECT value FROM cursor WHERE stream = ?", (stream,)).fetchone()
        return None if row is None else str(row[0])

    def set_cursor(self, stream: str, value: str, run_id: int | None = None) -> None:
        self.conn.execute("INSERT INTO cursor(stream, value, run_id) VALUES (?, ?, ?) ON CONFLICT(stream) "
                          "DO UPDATE SET value = excluded.value, run_id = excluded.run_id",
                          (stream, value, run_id))

    # -- counts ---------------------------------------------------------------------------------
    def count(self, table: str, where: str = "", params: tuple[Any, ...] = ()) -> int:
        assert table in {"pages", "chunks", "runs"}
        sql = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
        return int(self.conn.execute(sql, params).fetchone()[0])
