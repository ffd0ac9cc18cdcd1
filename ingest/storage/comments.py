"""The ledger's comments: footer and inline comments, kept by id, read back per page for the index.

A comment is indexed as a section of its page (ingest/text/comments.py), so it has no access of its
own: its chunks are the page's chunks and carry the page's access class. A comment whose page the
ledger does not hold as current is never read back (fail closed). The schema is in ledger.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from ingest.records import Comment
from ingest.storage.ledger import Ledger

__all__ = ["LedgerComments"]


class LedgerComments:
    """Writes (the pull) and reads (the index) of the comments table."""

    def __init__(self, ledger: Ledger) -> None:
        self.conn = ledger.conn

    def upsert(self, comments: Iterable[Comment]) -> int:
        """Insert or replace each comment (a newer version replaces an older one); the rows written."""
        rows = [(c.id, c.page_id, c.version, c.updated_at, c.author, c.location, c.selection, c.body_html)
                for c in comments]
        self.conn.executemany(
            "INSERT INTO comments(id, page_id, version, updated_at, author, location, selection, body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET page_id = excluded.page_id, "
            "version = excluded.version, updated_at = excluded.updated_at, author = excluded.author, "
            "location = excluded.location, selection = excluded.selection, body = excluded.body "
            "WHERE excluded.version >= comments.version", rows)
        return len(rows)

    def by_page(self) -> dict[str, tuple[Comment, ...]]:
        """page id -> its comments, oldest first, for current pages only."""
        out: dict[str, list[Comment]] = {}
        rows = self.conn.execute(
            "SELECT c.id, c.page_id, c.version, c.updated_at, c.body, c.author, c.location, c.selection "
            "FROM comments c JOIN pages p ON p.id = c.page_id AND p.status = 'current' "
            "ORDER BY c.page_id, length(c.id), c.id")
        for r in rows:
            out.setdefault(str(r[1]), []).append(Comment(str(r[0]), str(r[1]), int(r[2]), str(r[3]),
                                                         str(r[4]), str(r[5]), str(r[6]), str(r[7])))
        return {k: tuple(v) for k, v in out.items()}
