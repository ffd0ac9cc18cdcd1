"""The ledger's attachments: what each attachment's last seen version gave (indexed or skipped, and why).

An indexed attachment is also a row of `pages` (kind "attachment", its page and the page's ancestors
as its ancestors, no restriction of its own), so the access rules give it exactly its page's access
and an attachment whose page is not in the ledger is unresolved, hidden from everyone (fail closed).
This table only remembers versions, so an unchanged attachment is never downloaded again. The schema
is in ledger.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from ingest.records import AttachmentRef
from ingest.storage.ledger import Ledger

__all__ = ["LedgerAttachments"]


class LedgerAttachments:
    def __init__(self, ledger: Ledger) -> None:
        self.conn = ledger.conn

    def versions(self) -> dict[str, int]:
        """attachment id -> the version last downloaded (indexed or skipped)."""
        return {str(r[0]): int(r[1]) for r in self.conn.execute("SELECT id, version FROM attachments")}

    def record(self, ref: AttachmentRef, kind: str, status: str, note: str = "") -> None:
        self.conn.execute(
            "INSERT INTO attachments(id, page_id, filename, version, kind, bytes, status, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET page_id = excluded.page_id, "
            "filename = excluded.filename, version = excluded.version, kind = excluded.kind, "
            "bytes = excluded.bytes, status = excluded.status, note = excluded.note",
            (ref.id, ref.page_id, ref.filename, ref.version, kind, ref.size, status, note))

    def retire(self, ids: Iterable[str]) -> None:
        """Attachments skipped at their new version lose the document an older version made."""
        self.conn.executemany("UPDATE pages SET status = 'trashed' WHERE id = ? AND kind = 'attachment'",
                              [(i,) for i in ids])

    def retire_orphans(self) -> int:
        """Attachment documents whose page is gone or not current are trashed (the index drops them)."""
        return self.conn.execute(
            "UPDATE pages SET status = 'trashed' WHERE kind = 'attachment' AND status = 'current' AND "
            "NOT EXISTS (SELECT 1 FROM pages p WHERE p.id = json_extract(pages.ancestors, '$[#-1][0]') "
            "AND p.status = 'current' AND p.kind != 'attachment')").rowcount

    def summary(self) -> dict[str, int]:
        return {str(r[0]): int(r[1]) for r in
                self.conn.execute("SELECT status, count(*) FROM attachments GROUP BY status")}
