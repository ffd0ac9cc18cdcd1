"""Reconcile what a pull read against the ledger: pure functions, no I/O.

Two inputs decide the work:
- pulled pages (with bodies; the incremental window, or ids fetched to fill a gap): each is
  new, changed, moved (title, space or ancestors changed), restored (known but trashed/deleted)
  or unchanged (same version, same place);
- the id sweep (every current page and blog post, plus the trash; no bodies): what vanished
  (trashed or deleted), what came back, what moved without a version bump (an ancestor moved or
  was renamed), and what the incremental window missed (fetch it by id).
Deletes come only from a sweep that completed, and the caller refuses more than a fraction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from ingest.records import Ancestor, Page

Action = Literal["new", "changed", "moved", "unchanged", "restored"]
GONE = ("trashed", "deleted")


class KnownPage(Protocol):
    """What the ledger knows of a page (ledger.PageState fits)."""

    @property
    def id(self) -> str: ...
    @property
    def space_key(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def ancestors(self) -> str: ...  # JSON [[id, title], ...]


class SweptPage(Protocol):
    """One sweep row (source.SweepEntry fits)."""

    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def space_key(self) -> str: ...
    @property
    def ancestors(self) -> tuple[Ancestor, ...] | None: ...


def ancestors_json(ancestors: Iterable[Ancestor]) -> str:
    """The ledger's form of an ancestor list (ledger.upsert_page writes the same)."""
    return json.dumps([[a.id, a.title] for a in ancestors])


def _same_place(known: KnownPage, title: str, space_key: str, ancestors: tuple[Ancestor, ...] | None) -> bool:
    if title != known.title or (space_key and space_key != known.space_key):
        return False
    return ancestors is None or ancestors_json(ancestors) == known.ancestors


def classify(page: Page, known: KnownPage | None) -> Action:
    """What a pulled page means for the ledger."""
    if known is None:
        return "new"
    if known.status in GONE:
        return "restored"
    if not _same_place(known, page.title, page.space_key, page.ancestors):
        return "moved"
    if page.version != known.version:
        return "changed"
    return "unchanged"


@dataclass
class SweepPlan:
    """What the sweep says to do beyond the pulled pages."""

    fetch: list[str] = field(default_factory=list)        # exists, but missing or stale here: read its body
    relink: list[SweptPage] = field(default_factory=list)  # same version, new title/ancestors/space
    restore: list[str] = field(default_factory=list)      # back from the trash, same version: status only
    trash: list[str] = field(default_factory=list)        # current here, in the trash there
    delete: list[str] = field(default_factory=list)       # current here, gone there
    purge: list[str] = field(default_factory=list)        # trashed here, gone there (tombstone moves on)

    @property
    def removals(self) -> int:
        """Pages that leave the knowledge base: what the mass-delete guard counts."""
        return len(self.trash) + len(self.delete)


def plan_sweep(known: Mapping[str, KnownPage], pulled: Mapping[str, int],
               current: Mapping[str, SweptPage], trashed: Mapping[str, SweptPage]) -> SweepPlan:
    """Compare a COMPLETE sweep (current + trash) with the ledger, pages pulled this run aside.

    `known` must be the ledger's pages in the sweep's scope (the same spaces)."""
    plan = SweepPlan()
    for pid, entry in current.items():
        if pid in pulled and pulled[pid] >= entry.version:
            continue
        have = known.get(pid)
        if have is None or entry.version != have.version:
            plan.fetch.append(pid)
        elif have.status in GONE:
            plan.restore.append(pid)
        elif entry.space_key and entry.space_key != have.space_key:
            plan.fetch.append(pid)  # moved to another space: read its new place whole (ancestors)
        elif not _same_place(have, entry.title, entry.space_key, entry.ancestors):
            plan.relink.append(entry)
    for pid, have in known.items():
        if pid in current or pid in pulled:
            continue
        if have.status == "current":
            (plan.trash if pid in trashed else plan.delete).append(pid)
        elif have.status == "trashed" and pid not in trashed:
            plan.purge.append(pid)
    for bucket in (plan.fetch, plan.restore, plan.trash, plan.delete, plan.purge):
        bucket.sort()
    plan.relink.sort(key=lambda e: e.id)
    return plan


def too_many_removals(plan: SweepPlan, known_current: int, max_fraction: float) -> bool:
    """True when the plan would remove more than `max_fraction` of the known current pages."""
    if plan.removals == 0:
        return False
    return plan.removals > max_fraction * max(known_current, 0)
