"""The ledger: SQLite under the data dir — pages, chunks (+ FTS5), runs, cursor, meta.

One file, `ledger.sqlite3`, in WAL mode so that searches read while an ingest writes. Every multi-row change
is one transaction (`with ledger.tx():`): a crash leaves the ledger as of the last commit. The schema lives
here (its touched-pages triggers in `touched`), every SQL statement on the ledger in this package: pages,
runs, cursor, meta here; chunk rows in `chunks`, reindex's staging in `staging`, search's reads in `reads`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from ingest.records import Ancestor, Page
from ingest.storage.touched import TOUCHED_SCHEMA

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
    acl TEXT NOT NULL DEFAULT '',
    properties TEXT NOT NULL DEFAULT '{}', rendered_version INTEGER,
    last_seen_run INTEGER,
    indexed_version INTEGER,
    indexed_hash TEXT
);
CREATE INDEX IF NOT EXISTS pages_space ON pages(space_key);
CREATE INDEX IF NOT EXISTS pages_seen ON pages(last_seen_run);  -- a poll's 'wrote any page?'
CREATE INDEX IF NOT EXISTS pages_counts ON pages(space_key, kind, status);  -- storage/counts.py
CREATE INDEX IF NOT EXISTS pages_gone ON pages(id) WHERE status != 'current';  -- chunks.gone_pages
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    page_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    text_hash TEXT NOT NULL,
    header TEXT NOT NULL,
    heading_path TEXT NOT NULL DEFAULT '[]',
    text TEXT NOT NULL,
    tokens INTEGER NOT NULL DEFAULT 0,
    anchor TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS chunks_page ON chunks(page_id);
CREATE TABLE IF NOT EXISTS comments (
    id TEXT PRIMARY KEY, page_id TEXT NOT NULL, version INTEGER NOT NULL, updated_at TEXT NOT NULL,
    author TEXT NOT NULL DEFAULT '', location TEXT NOT NULL DEFAULT 'footer',
    selection TEXT NOT NULL DEFAULT '', body TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS comments_page ON comments(page_id);
CREATE TABLE IF NOT EXISTS attachments (
    id TEXT PRIMARY KEY, page_id TEXT NOT NULL, filename TEXT NOT NULL, version INTEGER NOT NULL,
    kind TEXT NOT NULL DEFAULT '', bytes INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS chunks_hash ON chunks(text_hash);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    header, text, content='chunks', content_rowid='rowid', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, header, text) VALUES (new.rowid, new.header, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, header, text)
        VALUES ('delete', old.rowid, old.header, old.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_au AFTER UPDATE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, header, text)
        VALUES ('delete', old.rowid, old.header, old.text);
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
CREATE TABLE IF NOT EXISTS space_access (
    space_key TEXT PRIMARY KEY, users TEXT NOT NULL, groups TEXT NOT NULL, anonymous INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS group_members (
    group_name TEXT NOT NULL, account_id TEXT NOT NULL, PRIMARY KEY (group_name, account_id)
);
CREATE INDEX IF NOT EXISTS group_members_user ON group_members(account_id);
CREATE TABLE IF NOT EXISTS principals (
    account_id TEXT PRIMARY KEY, email TEXT NOT NULL DEFAULT '', display_name TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS access_classes (
    acl TEXT PRIMARY KEY, space_key TEXT NOT NULL, restrictions TEXT NOT NULL, unresolved TEXT NOT NULL
);
"""
# Columns added after a ledger was first made: (table, column, definition).
ADDED_COLUMNS = (("pages", "acl", "TEXT NOT NULL DEFAULT ''"),
                 ("chunks", "anchor", "TEXT NOT NULL DEFAULT ''"),
                 ("pages", "properties", "TEXT NOT NULL DEFAULT '{}'"),
                 ("pages", "rendered_version", "INTEGER"))


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
            self._add_columns()
            self.conn.executescript(SCHEMA + TOUCHED_SCHEMA)
            if self.get_meta("schema_version") is None:
                self.set_meta("schema_version", str(SCHEMA_VERSION))

    def _add_columns(self) -> None:
        """Bring a ledger made before a column existed up to the schema (ALTER TABLE ADD COLUMN)."""
        for table, column, definition in ADDED_COLUMNS:
            cols = {r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")}
            if cols and column not in cols:
                self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

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

    def users(self) -> dict[str, str]:
        """accountId -> display name, as the pulls recorded them (meta 'users'); {} when none."""
        try:
            users = json.loads(self.get_meta("users") or "{}")
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in users.items()} if isinstance(users, dict) else {}

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

    # -- pages (PULL) ---------------------------------------------------------------------------
    # Pull never deletes rows: a trashed page gets status 'trashed', a purged one 'deleted'.
    _PAGE_COLS = ("id", "kind", "space_key", "space_name", "title", "url", "version", "created_at",
                  "updated_at", "author", "status", "labels", "ancestors", "read_users", "read_groups",
                  "body")

    def upsert_page(self, page: Page, run_id: int | None) -> None:
        """Insert or replace a page's pulled fields; keeps indexed_version/indexed_hash."""
        values = (page.id, page.kind, page.space_key, page.space_name, page.title, page.url,
                  int(page.version), page.created_at, page.updated_at, page.author, page.status,
                  json.dumps(list(page.labels)),
                  json.dumps([[a.id, a.title] for a in page.ancestors]),
                  json.dumps(list(page.read_users)), json.dumps(list(page.read_groups)),
                  page.body_html, run_id)
        cols = ", ".join(self._PAGE_COLS) + ", last_seen_run"
        marks = ", ".join("?" * len(values))
        updates = ", ".join(f"{c} = excluded.{c}" for c in (*self._PAGE_COLS[1:], "last_seen_run"))
        self.conn.execute(f"INSERT INTO pages({cols}) VALUES ({marks}) "
                          f"ON CONFLICT(id) DO UPDATE SET {updates}", values)

    def get_page(self, page_id: str) -> Page | None:
        row = self.conn.execute("SELECT * FROM pages WHERE id = ?", (page_id,)).fetchone()
        return None if row is None else page_from_row(row)

    def iter_pages(self, status: str | None = "current",
                   spaces: Sequence[str] | None = None) -> Iterator[Page]:
        """Stream pages (status None = every status), ordered by id, optionally in some spaces."""
        where, params = page_filter(status, spaces)
        cur = self.conn.cursor()
        cur.execute(f"SELECT * FROM pages{where} ORDER BY id", params)
        try:
            while rows := cur.fetchmany(200):
                yield from (page_from_row(r) for r in rows)
        finally:
            cur.close()

    def page_states(self, spaces: Sequence[str] | None = None) -> dict[str, PageState]:
        """The light view of every known page (no bodies), for reconcile."""
        where, params = page_filter(None, spaces)
        where += (" AND " if where else " WHERE ") + "kind != 'attachment'"  # ingest/pull/attachments.py
        rows = self.conn.execute("SELECT id, kind, space_key, version, status, title, ancestors "
                                 f"FROM pages{where}", params)
        return {r["id"]: PageState(r["id"], r["kind"], r["space_key"], int(r["version"]), r["status"],
                                   r["title"], r["ancestors"]) for r in rows}

    def set_page_status(self, page_id: str, status: str, run_id: int | None = None) -> None:
        self.conn.execute("UPDATE pages SET status = ?, last_seen_run = coalesce(?, last_seen_run) "
                          "WHERE id = ?", (status, run_id, page_id))

    def relink_page(self, page_id: str, title: str, space_key: str, ancestors: Sequence[Ancestor],
                    run_id: int | None) -> None:
        """A page moved (or an ancestor was renamed) without a new version: place only, body kept."""
        self.conn.execute("UPDATE pages SET title = ?, "
                          "space_key = CASE WHEN ? = '' THEN space_key ELSE ? END, "
                          "ancestors = ?, last_seen_run = coalesce(?, last_seen_run) WHERE id = ?",
                          (title, space_key, space_key, json.dumps([[a.id, a.title] for a in ancestors]),
                           run_id, page_id))

    def descendants(self, page_id: str) -> list[Page]:
        """Pages with `page_id` among their ancestors (pull re-derives their place after a move)."""
        cols = ", ".join(c for c in self._PAGE_COLS if c != "body")
        rows = self.conn.execute(f"SELECT {cols}, '' AS body FROM pages WHERE ancestors LIKE ?",
                                 (f'%"{page_id}"%',))
        return [p for p in map(page_from_row, rows) if any(a.id == page_id for a in p.ancestors)]

    def mark_seen(self, page_ids: Sequence[str], run_id: int) -> None:
        self.conn.executemany("UPDATE pages SET last_seen_run = ? WHERE id = ?",
                              [(run_id, pid) for pid in page_ids])

    # -- counts ---------------------------------------------------------------------------------
    def count(self, table: str, where: str = "", params: tuple[Any, ...] = ()) -> int:
        """Rows of a table (tests' view; the project's code uses the named counts below)."""
        assert table in {"pages", "chunks", "runs"}
        sql = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
        return int(self.conn.execute(sql, params).fetchone()[0])

    def count_pages(self, status: str | None = "current", spaces: Sequence[str] | None = None) -> int:
        """Pages of a status (None: every status), optionally in some spaces."""
        where, params = page_filter(status, spaces)
        return int(self.conn.execute(f"SELECT count(*) FROM pages{where}", params).fetchone()[0])

    def count_chunks(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM chunks").fetchone()[0])

    def summary(self) -> dict[str, Any]:
        """`kb status`'s counts: pages (current, indexed, tombstones), chunks, spaces, cursors."""
        spaces = {r[0]: {"pages": r[1], "indexed": r[2]} for r in self.conn.execute(
            "SELECT space_key, count(*), count(indexed_hash) FROM pages WHERE status = 'current' "
            "GROUP BY space_key ORDER BY space_key")}
        pages, indexed, tombstones = self.conn.execute(
            "SELECT count(*) FILTER (WHERE status = 'current'), "
            "count(*) FILTER (WHERE status = 'current' AND indexed_hash IS NOT NULL), "
            "count(*) FILTER (WHERE status != 'current') FROM pages").fetchone()
        cursor = {r[0]: r[1] for r in self.conn.execute("SELECT stream, value FROM cursor ORDER BY stream")}
        return {"pages": int(pages), "pages_indexed": int(indexed), "tombstones": int(tombstones),
                "chunks": self.count_chunks(), "spaces": spaces, "cursor": cursor}


def peek_meta(data_dir: Path, key: str) -> str | None:
    """One meta value read without opening the ledger for writing; None when the ledger or the key
    does not exist yet. Cheap enough to call often (the store follows the active collection)."""
    path = Path(data_dir) / Ledger.FILENAME
    if not path.is_file():
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return None if row is None else str(row[0])


class LedgerWatch:
    """Notices that the ledger changed, cheaply: SQLite's data_version (another connection
    committed) and the runs table (a run started or finished). For long-lived readers (the server)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / Ledger.FILENAME
        self._conn: sqlite3.Connection | None = None

    def state(self) -> tuple[int, int, int] | None:
        """(data_version, newest run id, finished runs), or None while the ledger cannot be read."""
        try:
            if self._conn is None:
                if not self.path.is_file():
                    return None
                self._conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            runs = self._conn.execute("SELECT max(id), count(finished_at) FROM runs").fetchone()
        except sqlite3.Error:
            self.close()
            return None
        return int(version), int(runs[0] or 0), int(runs[1] or 0)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class PageState(NamedTuple):
    """What reconcile needs of a known page: no body."""

    id: str
    kind: str
    space_key: str
    version: int
    status: str
    title: str
    ancestors: str  # JSON [[id, title], ...]


def page_filter(status: str | None, spaces: Sequence[str] | None) -> tuple[str, tuple[Any, ...]]:
    clauses: list[str] = []
    params: list[Any] = []
    if status is not None:
        clauses.append("status = ?")
        params.append(status)
    if spaces:
        clauses.append(f"space_key IN ({', '.join('?' * len(spaces))})")
        params.extend(spaces)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)


def page_from_row(row: sqlite3.Row) -> Page:
    return Page(
        id=row["id"], kind=row["kind"], space_key=row["space_key"], title=row["title"], url=row["url"],
        version=int(row["version"]), updated_at=row["updated_at"], body_html=row["body"],
        space_name=row["space_name"], created_at=row["created_at"], author=row["author"],
        status=row["status"], labels=tuple(json.loads(row["labels"])),
        ancestors=tuple(Ancestor(str(i), str(t)) for i, t in json.loads(row["ancestors"])),
        read_users=tuple(json.loads(row["read_users"])), read_groups=tuple(json.loads(row["read_groups"])),
        acl=row["acl"] if "acl" in row.keys() else "",  # noqa: SIM118 (sqlite3.Row has no __contains__)
    )
