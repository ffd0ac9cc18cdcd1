"""Cheap row signatures of the ledger's current pages, for a long-running sync (`ingest.pipeline.Ingester`):
everything a page's index fingerprint is made of, read without its body (the body's length and the
rendered macros' version stand in for it: a Confluence body does not change without a new version),
plus its comments and the ledger's user names. A page whose signature is unchanged since the last index
pass of this process needs no look; the rest are handed to the indexer, which decides by fingerprint."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence

from ingest.storage.ledger import Ledger, page_filter

_COLUMNS = ("kind", "version", "status", "updated_at", "url", "title", "space_key", "space_name", "labels",
            "ancestors", "read_users", "read_groups", "acl", "rendered_version", "length(body)",
            "indexed_hash", "author")


def page_signatures(ledger: Ledger, spaces: Sequence[str] | None = None,
                    ids: Collection[str] | None = None) -> dict[str, str]:
    """page id -> the signature of its row and its comments, for current pages (optionally in spaces;
    optionally only the pages `ids`, read by id)."""
    where, params = page_filter("current", spaces)
    row = " || char(31) || ".join(f"quote({c})" for c in _COLUMNS)
    comments = ("SELECT page_id, count(*) || ':' || max(version) || ':' || max(updated_at) || ':' "
                "|| total(length(body)) FROM comments")
    if ids is None:
        pages = {r[0]: r[1] for r in ledger.conn.execute(f"SELECT id, {row} FROM pages{where}", params)}
        extra = list(ledger.conn.execute(f"{comments} GROUP BY page_id"))
    else:
        pages, extra, wanted = {}, [], sorted(ids)
        clause = " AND " if where else " WHERE "
        for start in range(0, len(wanted), 500):
            part = tuple(wanted[start:start + 500])
            marks = ", ".join("?" * len(part))
            pages.update((r[0], r[1]) for r in ledger.conn.execute(
                f"SELECT id, {row} FROM pages{where}{clause}id IN ({marks})", (*params, *part)))
            extra += ledger.conn.execute(f"{comments} WHERE page_id IN ({marks}) GROUP BY page_id", part)
    for page_id, sig in extra:
        if page_id in pages:
            pages[page_id] += f"|{sig}"
    return pages


def users_signature(ledger: Ledger) -> str:
    """A digest of the ledger's user names (a mention's display name is part of a page's fingerprint)."""
    return hashlib.sha256((ledger.get_meta("users") or "").encode("utf-8")).hexdigest()
