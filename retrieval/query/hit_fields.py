"""The ledger's stored forms of a hit's fields, as a Hit carries them."""

from __future__ import annotations

import json


def labels_of(raw: str | None) -> tuple[str, ...]:
    """A page's labels from the ledger's JSON list (or a comma-separated leftover)."""
    if not raw:
        return ()
    try:
        value = json.loads(raw)
    except ValueError:
        value = [p for p in raw.split(",") if p]
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def heading_path_of(raw: str | None) -> str:
    """A chunk's heading path (a JSON list in the ledger) as the text a hit shows: "A › B"."""
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return raw or ""
    return " › ".join(str(v) for v in value) if isinstance(value, list) else str(value)
