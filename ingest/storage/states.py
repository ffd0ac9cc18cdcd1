"""The light view (`PageState`) of some known pages, by id: what a poll's small window needs of the
ledger to classify its pages, without reading the 20,000 rows `Ledger.page_states` reads (the
pages table holds the bodies, so every full scan reads them: ~0.26 s at 20,000 pages)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ingest.storage.ledger import Ledger, PageState, page_filter

_PER_QUERY = 500  # ids per IN (...): well under SQLite's limit on parameters


def page_states_of(ledger: Ledger, ids: Iterable[str], spaces: Sequence[str] | None = None
                   ) -> dict[str, PageState]:
    """`Ledger.page_states(spaces)` restricted to `ids` (those of them the ledger knows)."""
    wanted = sorted(set(ids))
    where, params = page_filter(None, spaces)
    where += (" AND " if where else " WHERE ") + "kind != 'attachment'"  # as page_states
    out: dict[str, PageState] = {}
    for start in range(0, len(wanted), _PER_QUERY):
        chunk = wanted[start:start + _PER_QUERY]
        rows = ledger.conn.execute("SELECT id, kind, space_key, version, status, title, ancestors FROM pages"
                                   f"{where} AND id IN ({', '.join('?' * len(chunk))})", (*params, *chunk))
        out.update((r["id"], PageState(r["id"], r["kind"], r["space_key"], int(r["version"]), r["status"],
                                       r["title"], r["ancestors"])) for r in rows)
    return out
