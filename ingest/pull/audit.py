"""Restriction changes from Confluence's audit log: the one place they show.

Confluence bumps neither a page's version nor its lastmodified when a read restriction changes, so
no window sees it, and a space's counts do not move. The audit log does list it (category
"Permissions", the page by title as the affected object, its space as an associated object). Each
pull reads the records since the last one it saw (stream `audit`); a restriction change sends its
space to the sweep, which re-reads every page's own restriction there. Records name the space by
name; a name we cannot place sends every space in scope.

Reading the audit log takes a right the sync account may lack (Cloud: site admin; Data Center:
Confluence administrator). Without it (403) restriction changes reach the index at the space's
periodic full sweep (`[pull] full_sweep_every`), and the run says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

AUDIT_META = "audit_since"  # ledger meta: epoch ms of the first audit record not yet read
_CONTENT_KINDS = {"page", "blog", "blog post", "blogpost"}


def _field(record: Mapping[str, Any], name: str) -> Any:
    """A record's field as Confluence names it, or as PyAirbyte's cache does (lower case)."""
    return record.get(name, record.get(name.lower()))


def restriction_changes(records: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(title, space name) of each restriction change among audit records ("" when unnamed)."""
    found: list[tuple[str, str]] = []
    for r in records:
        category = str(r.get("category") or "").lower()
        summary = str(r.get("summary") or "").lower()
        raw = _field(r, "affectedObject")
        affected: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        kind = str(affected.get("objectType") or "").lower()
        if kind not in _CONTENT_KINDS or not ("permission" in category or "restriction" in summary):
            continue
        spaces = [str(o.get("name") or "") for o in _field(r, "associatedObjects") or ()
                  if isinstance(o, Mapping) and str(o.get("objectType") or "").lower() == "space"]
        found.append((str(affected.get("name") or ""), spaces[0] if spaces else ""))
    return found


def spaces_to_sweep(changes: Sequence[tuple[str, str]], names: Mapping[str, str],
                    scope: Sequence[str]) -> dict[str, str]:
    """space key -> reason, for the spaces whose restrictions changed (names: key -> space name)."""
    by_name = {name: key for key, name in names.items()}
    why: dict[str, str] = {}
    for title, space_name in changes:
        key = by_name.get(space_name) or (space_name if space_name in names else None)
        targets = [key] if key else list(scope)
        for space in targets:
            if space in scope:
                why.setdefault(space, f"audit log: restrictions changed on {title!r}")
    return why


def newest(records: Iterable[Mapping[str, Any]], since: int) -> int:
    """The next `audit_since`: one past the newest record read (records carry epoch ms)."""
    top = since
    for r in records:
        try:
            top = max(top, int(_field(r, "creationDate") or 0) + 1)
        except (TypeError, ValueError):
            continue
    return top


def epoch_ms(when: str) -> int | None:
    """An ISO instant (a cursor) as epoch milliseconds; None for none."""
    from datetime import UTC, datetime

    if not when:
        return None
    moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)
