"""The index's reads and writes of the ledger: the chunks table and the pages' indexed_* columns.

The schema itself stays in ledger.py.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from ingest.records import Chunk
from ingest.storage.ledger import Ledger, page_filter


class LedgerChunks:
    """Reads and writes of the chunks table and the pages' indexed_* columns."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.conn = ledger.conn

    def indexed_hashes(self, spaces: Sequence[str] | None = None,
                       ids: Collection[str] | None = None) -> dict[str, str | None]:
        """page id -> its fingerprint, for current pages (in `spaces`; only the pages `ids`, when given)."""
        where, params = page_filter("current", spaces)
        sql = f"SELECT id, indexed_hash FROM pages{where}"
        if ids is None:
            return {r[0]: r[1] for r in self.conn.execute(sql, params)}
        out: dict[str, str | None] = {}
        for part in parts(sorted(ids)):
            out.update((r[0], r[1]) for r in self.conn.execute(
                f"{sql} AND id IN ({', '.join('?' * len(part))})",
                (*params, *part)))
        return out

    def chunks_of(self, page_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """page id -> {chunk id: text hash}."""
        out: dict[str, dict[str, str]] = {pid: {} for pid in page_ids}
        for part in parts(list(page_ids)):
            rows = self.conn.execute("SELECT page_id, id, text_hash FROM chunks WHERE page_id IN "
                                     f"({', '.join('?' * len(part))})", part)
            for pid, cid, h in rows:
                out.setdefault(pid, {})[cid] = h
        return out

    def ids_by_hash(self, hashes: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for part in parts(list(hashes)):
            rows = self.conn.execute(f"SELECT text_hash, id FROM chunks WHERE text_hash IN "
                                     f"({', '.join('?' * len(part))})", part)
            for h, cid in rows:
                out.setdefault(h, []).append(cid)
        return out

    def replace(self, works: Sequence[Any]) -> None:
        """One transaction: each page's chunk rows and its indexed version and fingerprint."""
        with self.ledger.tx() as conn:
            for work in works:
                conn.execute("DELETE FROM chunks WHERE page_id = ?", (work.page.id,))
                conn.executemany(
                    "INSERT INTO chunks(id, page_id, idx, text_hash, header, heading_path, text, tokens, "
                    "anchor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [chunk_row(c) for c in work.chunks])
                conn.execute("UPDATE pages SET indexed_version = ?, indexed_hash = ?, properties = ? "
                             "WHERE id = ?", (work.page.version, work.fingerprint,
                                              getattr(work, "properties", "{}"), work.page.id))

    def iter_rows(self, limit: int | None = None) -> Iterator[tuple[str, str, str]]:
        """(chunk id, header, text) of every chunk (the first `limit`), ordered by id."""
        sql = "SELECT id, header, text FROM chunks ORDER BY id" + (" LIMIT ?" if limit is not None else "")
        cur = self.conn.execute(sql, (limit,) if limit is not None else ())
        try:
            while rows := cur.fetchmany(1000):
                yield from ((r[0], r[1], r[2]) for r in rows)
        finally:
            cur.close()

    def optimize(self) -> None:
        """Merge the FTS5 index's segments (after a bulk load: faster bm25 queries)."""
        self.conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('optimize')")

    def has_rows(self) -> bool:
        """Whether the ledger holds any chunk row (cheaper than counting them)."""
        return bool(self.conn.execute("SELECT EXISTS (SELECT 1 FROM chunks)").fetchone()[0])

    def gone_pages(self, spaces: Sequence[str] | None = None) -> list[str]:
        """Tombstoned pages that still have index state (the partial index pages_gone: tombstones only)."""
        sql = ("SELECT id FROM pages WHERE status != 'current' AND (indexed_hash IS NOT NULL "
               "OR EXISTS (SELECT 1 FROM chunks WHERE chunks.page_id = pages.id))")
        params: list[str] = []
        if spaces:
            sql += f" AND space_key IN ({', '.join('?' * len(spaces))})"
            params = list(spaces)
        return [r[0] for r in self.conn.execute(sql, params)]

    def forget(self, page_ids: Sequence[str]) -> int:
        """Drop the pages' chunk rows and index state, in one transaction; the rows removed."""
        removed = 0
        with self.ledger.tx() as conn:
            for part in parts(list(page_ids)):
                marks = ", ".join("?" * len(part))
                removed += conn.execute(f"DELETE FROM chunks WHERE page_id IN ({marks})", part).rowcount
                conn.execute(f"UPDATE pages SET indexed_version = NULL, indexed_hash = NULL "
                             f"WHERE id IN ({marks})", part)
        return removed


def chunk_row(c: Chunk) -> tuple[Any, ...]:
    return (c.id, c.page_id, c.index, c.text_hash, c.header,
            json.dumps(list(c.heading_path), ensure_ascii=False), c.text, c.tokens, c.anchor)


def parts(items: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
