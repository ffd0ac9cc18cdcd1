"""Freshness reads for `kb status` and `/v1/status`: the last successful run of a kind, the lead's
per-space sweep record (meta "sweeps"), and the pages that failed to index with their titles.
(SQL on the ledger lives in ingest/storage; this module only reads.)"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ingest.storage.ledger import Ledger

SWEEPS_KEY = "sweeps"  # {space_key: {"at": ISO time, "reason": str}}, written by the pull's sweeps


def last_ok_run(ledger: Ledger, kinds: Sequence[str]) -> dict[str, Any] | None:
    """The newest run of one of `kinds` that finished 'ok' (id, kind, started_at, finished_at, report)."""
    marks = ", ".join("?" * len(kinds))
    row = ledger.conn.execute("SELECT id, kind, started_at, finished_at, report FROM runs "
                              f"WHERE status = 'ok' AND kind IN ({marks}) ORDER BY id DESC LIMIT 1",
                              tuple(kinds)).fetchone()
    if row is None:
        return None
    out = dict(row)
    out["report"] = json.loads(out["report"] or "{}")
    return out


def sweeps(ledger: Ledger) -> dict[str, dict[str, str]]:
    """Each space's last full sweep as the pull recorded it ({} when it records none yet)."""
    try:
        found = json.loads(ledger.get_meta(SWEEPS_KEY) or "{}")
    except ValueError:
        return {}
    if not isinstance(found, dict):
        return {}
    return {str(k): {"at": str(v.get("at", "")), "reason": str(v.get("reason", ""))}
            for k, v in found.items() if isinstance(v, dict)}


def page_titles(ledger: Ledger, page_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """page id -> (title, space key) for the ids the ledger knows."""
    if not page_ids:
        return {}
    marks = ", ".join("?" * len(page_ids))
    rows = ledger.conn.execute(f"SELECT id, title, space_key FROM pages WHERE id IN ({marks})",
                               tuple(page_ids))
    return {r["id"]: (r["title"], r["space_key"]) for r in rows}
