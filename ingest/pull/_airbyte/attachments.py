"""The `attachments` stream's records (Cloud attachment content) as `AttachmentRef`s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.pull._airbyte.records import get_path
from ingest.records import AttachmentRef

__all__ = ["to_attachment"]


def to_attachment(record: Mapping[str, Any], *, site: str) -> AttachmentRef | None:
    """An attachment record as a ref; None when it names no page or has no download link."""
    page_id = str(get_path(record, "container", "id", default=""))
    link = str(get_path(record, "_links", "download", default=""))
    if not page_id or not link or not record.get("id"):
        return None
    return AttachmentRef(
        id=str(record["id"]), page_id=page_id, filename=str(record.get("title") or ""),
        media_type=str(get_path(record, "extensions", "mediaType", default="")
                       or get_path(record, "metadata", "mediaType", default="")),
        size=int(get_path(record, "extensions", "fileSize", default=0) or 0),
        version=int(get_path(record, "version", "number", default=0)),
        updated_at=str(get_path(record, "version", "when", default="")),
        download_url=(site + link) if link.startswith("/") else link,
    )
