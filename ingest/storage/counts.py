"""How many pages and blog posts of each space the ledger holds current and trashed (the count
gate's side of the comparison, ingest/pull/gate.py): one GROUP BY, not 20,000 rows into Python."""

from __future__ import annotations

from collections.abc import Sequence

from ingest.storage.ledger import Ledger


def space_counts(ledger: Ledger, spaces: Sequence[str] | None = None) -> dict[str, tuple[int, int]]:
    """space key -> (current, trashed), pages and blog posts only (attachments and tombstones of
    deleted pages aside); every space with a row in the ledger (within `spaces`, when given)."""
    where, params = "", tuple(spaces or ())
    if params:
        where = f" AND space_key IN ({', '.join('?' * len(params))})"
    rows = ledger.conn.execute(
        "SELECT space_key, sum(status = 'current'), sum(status = 'trashed') FROM pages "
        f"WHERE kind IN ('page', 'blogpost'){where} GROUP BY space_key", params)
    return {r[0]: (int(r[1] or 0), int(r[2] or 0)) for r in rows}
