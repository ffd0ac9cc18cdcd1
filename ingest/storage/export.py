"""The ledger's current site as plain rows, for the analytics cache (`ingest.site`).

One row per current page or blog post (trashed and deleted tombstones are not the current site),
in the ledger's own words: flat columns, JSON lists and objects decoded. Not access-filtered: the
operator's view of every page the ingest account reads.
(SQL on the ledger lives in ingest/storage; this module only reads.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ingest.storage.ledger import Ledger

SITE_COLUMNS = ("id", "kind", "space_key", "space_name", "title", "url", "version", "created_at",
                "updated_at", "author", "status", "labels", "ancestors", "read_users", "read_groups",
                "properties", "body")
JSON_COLUMNS = frozenset({"labels", "ancestors", "read_users", "read_groups", "properties"})


def site_rows(ledger: Ledger, batch: int = 500) -> Iterator[dict[str, Any]]:
    """Every current page and blog post of the ledger, ordered by id, JSON columns decoded."""
    cursor = ledger.conn.execute(f"SELECT {', '.join(SITE_COLUMNS)} FROM pages "  # fixed names (S608)
                                 "WHERE status = 'current' ORDER BY id")
    while rows := cursor.fetchmany(batch):
        for row in rows:
            yield {k: (_json(row[k]) if k in JSON_COLUMNS else row[k]) for k in SITE_COLUMNS}


def _json(text: str | None) -> Any:
    try:
        return json.loads(text or "null")
    except ValueError:
        return text
