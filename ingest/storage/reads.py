"""The reading side's SQL on the ledger: the lexical index (FTS5 bm25), label lookups and the chunk
rows behind search hits, each under a page scope (space, kind, label, page ids, updated range).

Retrieval calls these and writes no SQL of its own. One statement at a time per connection (a lock):
the server's threads share one read-only ledger connection.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ingest.access.rules import Principal
from ingest.errors import NotReady
from ingest.records import page_of
from ingest.storage.access import LedgerAccess
from ingest.storage.ledger import Ledger

SCORED_ROWS_CAP = 2000  # when every term is common, bm25 ranks at most this many matches


@dataclass(frozen=True)
class PageScope:
    """Which pages a read may return: empty means any; several values mean any of them.
    `after`/`before` are epoch seconds of `updated_at`. `acls`: the access classes the reader may
    see (ingest.access); None means every page (the operator), an empty tuple none at all."""

    spaces: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    page_ids: tuple[str, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()  # (lower-cased key, value): all must hold
    after: float | None = None
    before: float | None = None
    acls: tuple[str, ...] | None = None


def _page_sql(scope: PageScope, alias: str = "p") -> tuple[str, list[Any]]:
    """SQL conditions on the ledger's pages row for `scope` (joined as `alias`)."""
    conds: list[str] = []
    params: list[Any] = []

    def any_of(column: str, values: tuple[str, ...]) -> None:
        conds.append(f"{alias}.{column} IN ({','.join('?' * len(values))})")
        params.extend(values)

    if scope.spaces:
        any_of("space_key", scope.spaces)
    if scope.kinds:
        any_of("kind", scope.kinds)
    if scope.page_ids:
        any_of("id", scope.page_ids)
    if scope.labels:
        marks = ",".join("?" * len(scope.labels))
        conds.append(f"EXISTS (SELECT 1 FROM json_each({alias}.labels) WHERE value IN ({marks}))")
        params.extend(scope.labels)
    for key, value in scope.properties:  # ingest/text/properties.py: keys lower-cased, values as shown
        conds.append(f"lower(json_extract({alias}.properties, ?)) = lower(?)")
        params.extend((json_path(key), value))
    if scope.acls is not None:
        if scope.acls:
            any_of("acl", scope.acls)
        else:
            conds.append("0")
    if scope.after is not None:
        conds.append(f"julianday({alias}.updated_at) >= julianday(?, 'unixepoch')")
        params.append(scope.after)
    if scope.before is not None:
        conds.append(f"julianday({alias}.updated_at) <= julianday(?, 'unixepoch')")
        params.append(scope.before)
    return " AND ".join(conds), params


def json_path(key: str) -> str:
    """The SQLite JSON path of an object member named `key` (quoted: keys hold spaces)."""
    return '$."' + key.replace('"', '') + '"'


class LedgerReads:
    """Search's reads of one ledger connection (usually read-only)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.conn = ledger.conn
        self._lock = threading.Lock()
        self._classes: tuple[tuple[int, int], dict[str, str]] | None = None
        self._classes_checked = 0.0

    def principal(self, who: str) -> Principal:
        """An email or account id as a Principal (ingest.storage.access), under this reader's lock."""
        with self._lock:
            return LedgerAccess(self.ledger).principal(who)

    def visible_acls(self, who: Principal) -> tuple[str, ...]:
        """The access classes `who` may view, under this reader's lock."""
        with self._lock:
            return LedgerAccess(self.ledger).visible_acls(who)

    def property_pages(self, properties: Sequence[tuple[str, str]]) -> set[str]:
        """Current pages whose Page Properties hold every (key, value) (values case-insensitive)."""
        cond, params = _page_sql(PageScope(properties=tuple(properties)))
        with self._lock:
            return {r[0] for r in self.conn.execute(
                f"SELECT p.id FROM pages p WHERE p.status = 'current' AND {cond}", params)}

    def labelled_pages(self, labels: Sequence[str]) -> set[str]:
        marks = ",".join("?" * len(labels))
        sql = ("SELECT id FROM pages p "
               f"WHERE EXISTS (SELECT 1 FROM json_each(p.labels) WHERE value IN ({marks}))")
        with self._lock:
            return {r[0] for r in self.conn.execute(sql, tuple(labels))}

    def bm25(self, match: str, n: int, scope: PageScope, *, sample: bool = False) -> list[str]:
        """Chunk ids, best bm25 first, for an FTS5 MATCH expression. With `sample`, at most
        SCORED_ROWS_CAP matches are scored (a query of only common terms)."""
        return [cid for cid, _ in self.bm25_scored(match, n, scope, sample=sample)]

    def bm25_scored(self, match: str, n: int, scope: PageScope, *,
                    sample: bool = False) -> list[tuple[str, float]]:
        """(chunk id, bm25 relevance: higher is better, FTS5's score negated), best first."""
        cond, params = _page_sql(scope)
        join = "JOIN pages p ON p.id = c.page_id " if cond else ""
        where = f"chunks_fts MATCH ? AND {cond}" if cond else "chunks_fts MATCH ?"
        scored = (f"SELECT c.id AS id, bm25(chunks_fts) AS score FROM chunks_fts f "
                  f"JOIN chunks c ON c.rowid = f.rowid {join}WHERE {where}")
        if sample:
            scored += f" LIMIT {SCORED_ROWS_CAP}"
        sql = f"SELECT id, score FROM ({scored}) ORDER BY score LIMIT ?"
        try:
            with self._lock:
                return [(r[0], -float(r[1])) for r in self.conn.execute(sql, [match, *params, n])]
        except sqlite3.OperationalError as exc:  # e.g. a ledger without the FTS table
            raise NotReady(f"the lexical index cannot be read: {exc}",
                           "run `kb ingest` (or `kb reindex`)") from exc

    def chunk_total(self) -> int:
        """About how many chunks the index holds (the largest rowid: no count scan)."""
        with self._lock:
            row = self.conn.execute("SELECT max(rowid) FROM chunks").fetchone()
        return int(row[0] or 0)

    def doc_freq(self, match: str, cap: int) -> int:
        """Chunks matching `match`, counted up to `cap`."""
        sql = "SELECT count(*) FROM (SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT ?)"
        with self._lock:
            return int(self.conn.execute(sql, (match, cap)).fetchone()[0])

    def chunks_per_class(self) -> dict[str, int]:
        """acl -> chunks of current pages in that access class (how much of the index a principal
        may search: the dense side's plan)."""
        sql = ("SELECT p.acl, count(*) FROM chunks c JOIN pages p ON p.id = c.page_id "
               "WHERE p.status = 'current' GROUP BY p.acl")
        with self._lock:
            return {str(r[0]): int(r[1]) for r in self.conn.execute(sql)}

    def _version(self) -> tuple[int, int]:
        """Moves with every commit: data_version with other connections', total_changes with this one's."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0]), self.conn.total_changes

    def chunk_hashes(self) -> dict[str, str]:
        """chunk id -> text_hash (the hash of exactly what was embedded) of every indexed chunk."""
        with self._lock:
            return self._chunk_hashes()

    def chunk_hashes_if_changed(self, seen: Any) -> tuple[tuple[int, int], dict[str, str]] | None:
        """(version, chunk_hashes()) when the ledger changed since version `seen`, else None."""
        with self._lock:
            version = self._version()
            return None if version == seen else (version, self._chunk_hashes())

    def _chunk_hashes(self) -> dict[str, str]:
        return {str(r[0]): str(r[1]) for r in self.conn.execute("SELECT id, text_hash FROM chunks")}

    def within(self, ids: Sequence[str], acls: Sequence[str]) -> set[str]:
        """The chunk ids among `ids` whose current page is in one of the access classes `acls`, from
        an in-memory map of page -> class reloaded whenever the ledger changed (SQLite's
        data_version: 0.1 ms to check; a reload reads every page's id and class, ~27 ms at 20,000
        pages). Search checks its hits against the ledger again (`hit_rows`)."""
        allowed = set(acls)
        classes = self._page_classes()
        return {cid for cid in ids if classes.get(page_of(cid)) in allowed}

    def _page_classes(self) -> dict[str, str]:
        """page id -> class, reloaded when the ledger changed; checked at most every 0.5 s (the
        check takes the connection's lock, which a lexical query may hold)."""
        now = time.monotonic()
        if self._classes is not None and now - self._classes_checked < 0.5:
            return self._classes[1]
        with self._lock:
            self._classes_checked = now
            version = self._version()
            if self._classes is None or self._classes[0] != version:
                rows = self.conn.execute("SELECT id, acl FROM pages WHERE status = 'current'")
                self._classes = (version, {str(r[0]): str(r[1]) for r in rows})
            return self._classes[1]

    def hit_rows(self, ids: Sequence[str], scope: PageScope) -> dict[str, dict[str, Any]]:
        """chunk id -> its row joined with its page's fields, for current pages within `scope`."""
        rows: dict[str, dict[str, Any]] = {}
        cond, params = _page_sql(scope)
        for start in range(0, len(ids), 500):
            part = list(ids[start:start + 500])
            sql = ("SELECT c.id, c.page_id, c.header, c.heading_path, c.anchor, c.text, p.title, p.url, "
                   "p.space_key, p.kind, p.updated_at, p.labels "
                   "FROM chunks c LEFT JOIN pages p ON p.id = c.page_id "
                   f"WHERE c.id IN ({','.join('?' * len(part))}) "
                   "AND coalesce(p.status, 'current') = 'current'"
                   + (f" AND {cond}" if cond else ""))
            with self._lock:
                rows.update((r["id"], dict(r)) for r in self.conn.execute(sql, [*part, *params]))
        return rows
