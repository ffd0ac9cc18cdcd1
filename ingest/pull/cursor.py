"""The pull's cursors: where each content kind's window starts, and how far a run may move them.

Keys in the ledger's `cursor` table (one set per space filter, `@KEY,KEY` after the name):
- `content`: every content kind is complete up to here (the cursor since the first release);
- `content.page`, `content.blogpost`: that kind alone is complete up to here. They differ from
  `content` only after a read that failed part-way: the kind whose stream had finished, or the
  prefix read of the one that had not (the streams read `lastmodified ASC`), moves on; the next
  run's window for each kind starts at its own cursor (minus the lookback, in the manifest).
A cursor never moves back, and never past what was committed with it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from ingest.config import Settings
from ingest.storage.ledger import Ledger

CURSOR_STREAM = "content"
KINDS = ("page", "blogpost")


def cursor_key(spaces: Sequence[str], kind: str = "") -> str:
    """One cursor per space filter: a filtered pull must not move the whole site's cursor."""
    name = f"{CURSOR_STREAM}.{kind}" if kind else CURSOR_STREAM
    return name + (f"@{','.join(sorted(spaces))}" if spaces else "")


def _stored(ledger: Ledger, spaces: Sequence[str], kind: str = "") -> str | None:
    """This filter's cursor, else (a filtered pull) the whole site's: it covers every space."""
    value = ledger.get_cursor(cursor_key(spaces, kind))
    if value is None and spaces:
        value = ledger.get_cursor(cursor_key((), kind))
    return value


def start_date(ledger: Ledger, settings: Settings, spaces: Sequence[str], full: bool) -> str:
    """Where every kind's window starts at the latest: the shared cursor, else start_date."""
    if full:
        return settings.pull.start_date
    return _stored(ledger, spaces) or settings.pull.start_date


def start_dates(ledger: Ledger, settings: Settings, spaces: Sequence[str], full: bool) -> dict[str, str]:
    """Each kind's window start: its own cursor when a partial run moved it past the shared one."""
    shared = start_date(ledger, settings, spaces, full)
    if full:
        return dict.fromkeys(KINDS, shared)
    return {kind: max(shared, _stored(ledger, spaces, kind) or "") for kind in KINDS}


def moves(ledger: Ledger, spaces: Sequence[str], newest: str, newest_by_kind: Mapping[str, str],
          finished: Collection[str] | None) -> dict[str, str]:
    """The cursor keys a run may set (key -> value), each only forward.
    `finished`: the kinds whose streams were read to the end (None: all of them, a run that ended
    well). A finished kind is complete up to the newest record the run read of any kind; an
    unfinished one up to the newest record it read (its prefix), or not at all."""
    done = set(KINDS) if finished is None else set(finished)
    reached: dict[str, str] = {}
    for kind in KINDS:
        value = newest if kind in done else newest_by_kind.get(kind, "")
        old = _stored(ledger, spaces, kind) or _stored(ledger, spaces) or ""
        reached[kind] = max(value, old)
    out = {cursor_key(spaces, kind): value for kind, value in reached.items()
           if value and value > (ledger.get_cursor(cursor_key(spaces, kind)) or "")}
    shared = min(reached.values())
    if shared and shared > (ledger.get_cursor(cursor_key(spaces)) or ""):
        out[cursor_key(spaces)] = shared
    return out
