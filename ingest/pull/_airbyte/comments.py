"""The `comments` stream's records (Cloud comment content) as our `Comment` records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.pull._airbyte.records import get_path
from ingest.records import Comment

__all__ = ["to_comment"]


def to_comment(record: Mapping[str, Any]) -> Comment | None:
    """A comment record as a Comment; None when it names no page (it cannot inherit any access)."""
    page_id = str(get_path(record, "container", "id", default=""))
    if not page_id:  # the container not expanded: "/rest/api/content/123"
        page_id = str(get_path(record, "_expandable", "container", default="")).rsplit("/", 1)[-1]
    if not page_id.strip() or not record.get("id"):
        return None
    location = str(get_path(record, "extensions", "location", default="footer"))
    return Comment(
        id=str(record["id"]), page_id=page_id,
        version=int(get_path(record, "version", "number", default=0)),
        updated_at=str(get_path(record, "version", "when", default="")),
        body_html=str(get_path(record, "body", "storage", "value", default="")),
        author=str(get_path(record, "history", "createdBy", "accountId", default="")
                   or get_path(record, "version", "by", "accountId", default="")),
        location=location,
        selection=str(get_path(record, "extensions", "inlineProperties", "originalSelection", default="")),
    )
