"""The count gate: which spaces a pull sweeps, and why. Pure functions, no I/O.

The id sweep lists every page of a space (one light request per 250 pages); a poll every minute
cannot pay that for a site of 20,000 pages. So each pull asks Confluence how many current and how
many trashed pages and blog posts each space holds (`/search`'s totalSize: two requests a space),
and sweeps only the spaces where
- the counts disagree with the ledger (after the window's pages are applied) plus the offset
  recorded at the space's last sweep (trashed pages the ledger never knew, and the like), or
- the counts could not be read (fail towards exactness: sweep), or
- the space was never swept, or its last full sweep is older than `[pull] full_sweep_every`, or
- `kb pull --full`, or every `[pull] sweep_every` pulls when that is set.

What counts cannot see, and the periodic sweep catches: changes that cancel out within one space
between two polls (a page trashed and another restored; a page purged from the trash while a page
no window sees is trashed), and a page moved within its space without a new version. A move
between spaces changes both spaces' counts, so both are swept in the same run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SWEEPS_META = "sweeps"  # ledger meta: {space: {"at", "epoch", "reason", "offset": [current, trashed]}}


@dataclass(frozen=True)
class Counts:
    """How many pages and blog posts of a space are current and how many in the trash."""

    current: int
    trashed: int

    def minus(self, other: Counts) -> Counts:
        return Counts(self.current - other.current, self.trashed - other.trashed)

    def plus(self, other: Counts) -> Counts:
        return Counts(self.current + other.current, self.trashed + other.trashed)


ZERO = Counts(0, 0)


def remote_counts(records: Iterable[Mapping[str, Any]]) -> dict[str, Counts]:
    """space_counts records to Counts per space; a space missing either status is left out
    (unknown, so swept)."""
    found: dict[str, dict[str, int]] = {}
    for r in records:
        space, status, total = r.get("space"), r.get("status"), r.get("total")
        if isinstance(space, str) and status in ("current", "trashed") and isinstance(total, int):
            found.setdefault(space, {})[str(status)] = total
    return {s: Counts(v["current"], v["trashed"]) for s, v in found.items()
            if "current" in v and "trashed" in v}


def from_pairs(pairs: Mapping[str, tuple[int, int]]) -> dict[str, Counts]:
    """The ledger's (current, trashed) per space (ingest.storage.counts) as Counts."""
    return {s: Counts(c, t) for s, (c, t) in pairs.items()}


def load_sweeps(raw: str | None) -> dict[str, dict[str, Any]]:
    """The ledger's record of each space's last full sweep (meta SWEEPS_META)."""
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def offset_of(entry: Mapping[str, Any] | None) -> Counts:
    pair = (entry or {}).get("offset") or [0, 0]
    try:
        return Counts(int(pair[0]), int(pair[1]))
    except (TypeError, ValueError, IndexError):
        return ZERO


def plan(spaces: Sequence[str], remote: Mapping[str, Counts], local: Mapping[str, Counts],
         sweeps: Mapping[str, Mapping[str, Any]], *, now: float, full_every: float,
         forced: str | None = None) -> dict[str, str]:
    """space -> why it is swept this run, for the spaces that are (the others agree).

    `spaces`: every space in scope (configured, or known to the ledger or the space listing);
    `forced`: a reason that sweeps them all (`--full`, `sweep_every`)."""
    why: dict[str, str] = {}
    for space in sorted(set(spaces)):
        entry = sweeps.get(space)
        if forced:
            why[space] = forced
        elif entry is None:
            why[space] = "first sweep of the space"
        elif space not in remote:
            why[space] = "its counts could not be read"
        elif now - float(entry.get("epoch") or 0) >= full_every:
            why[space] = f"periodic: last full sweep at {entry.get('at', '?')}"
        else:
            want = local.get(space, ZERO).plus(offset_of(entry))
            have = remote[space]
            if have != want:
                why[space] = (f"counts: Confluence has {have.current} current and {have.trashed} trashed, "
                              f"the ledger explains {want.current} and {want.trashed}")
    return why


def record(sweeps: Mapping[str, Mapping[str, Any]], swept: Mapping[str, str], remote: Mapping[str, Counts],
           local_after: Mapping[str, Counts], *, now: float) -> dict[str, dict[str, Any]]:
    """The sweeps record after a run that swept `swept`: when, why, and the offset between
    Confluence's counts and the ledger's that the sweep leaves (pages in the trash the ledger never
    held, or a page created between the count and the listing: the next run then sweeps again)."""
    out = {k: dict(v) for k, v in sweeps.items()}
    at = datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for space, reason in swept.items():
        have = remote.get(space)
        offset = have.minus(local_after.get(space, ZERO)) if have is not None else ZERO
        out[space] = {"at": at, "epoch": now, "reason": reason, "offset": [offset.current, offset.trashed]}
    return out
