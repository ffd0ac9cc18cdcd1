"""The ledger's side of macro output (ingest/pull/macros.py): which pulled pages still need their
rendered body, and the merged body written back with the version it was rendered for."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ingest.storage.ledger import Ledger

__all__ = ["LedgerRendered"]


class LedgerRendered:
    def __init__(self, ledger: Ledger) -> None:
        self.conn = ledger.conn

    def unrendered(self, page_ids: Sequence[str]) -> list[tuple[str, int, str]]:
        """(id, version, storage body) of those current pages not rendered at their version."""
        out: list[tuple[str, int, str]] = []
        ids = list(page_ids)
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            out.extend((str(r[0]), int(r[1]), str(r[2])) for r in self.conn.execute(
                f"SELECT id, version, body FROM pages WHERE id IN ({','.join('?' * len(part))}) "
                "AND status = 'current' AND kind != 'attachment' "
                "AND (rendered_version IS NULL OR rendered_version != version)", part))
        return out

    def write(self, rows: Iterable[tuple[str, int, str]]) -> None:
        """(id, version, merged body): only where the page is still at that version."""
        self.conn.executemany("UPDATE pages SET body = ?, rendered_version = ? WHERE id = ? AND version = ?",
                              [(body, version, pid, version) for pid, version, body in rows])
