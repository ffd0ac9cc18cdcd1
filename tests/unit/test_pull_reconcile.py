"""Reconcile as pure functions: pulled pages and the id sweep against the ledger's known pages."""

from __future__ import annotations

from ingest.pull._airbyte import SweepEntry
from ingest.pull.reconcile import ancestors_json, classify, plan_sweep, too_many_removals
from ingest.records import Ancestor, Page
from ingest.storage.ledger import PageState

ROOT = (Ancestor("1", "Home"),)


def known(pid: str, version: int = 1, status: str = "current", title: str | None = None,
          ancestors: tuple[Ancestor, ...] = ROOT) -> PageState:
    return PageState(pid, "page", "ENG", version, status, title or f"T{pid}", ancestors_json(ancestors))


def page(pid: str, version: int = 1, title: str | None = None,
         ancestors: tuple[Ancestor, ...] = ROOT) -> Page:
    return Page(pid, "page", "ENG", title or f"T{pid}", f"https://x/{pid}", version,
                "2026-01-01T00:00:00.000Z", ancestors=ancestors)


def swept(pid: str, version: int = 1, title: str | None = None,
          ancestors: tuple[Ancestor, ...] | None = ROOT, status: str = "current") -> SweepEntry:
    return SweepEntry(pid, "page", status, version, title or f"T{pid}", "ENG", ancestors)


def test_classify_each_case() -> None:
    assert classify(page("9"), None) == "new"
    assert classify(page("2", 2), known("2", 1)) == "changed"
    assert classify(page("2", 1), known("2", 1)) == "unchanged"
    assert classify(page("2", 2, title="Renamed"), known("2", 1)) == "moved"
    assert classify(page("2", 2, ancestors=(Ancestor("5", "Other"),)), known("2", 1)) == "moved"
    assert classify(page("2", 1), known("2", 1, status="trashed")) == "restored"
    assert classify(page("2", 3), known("2", 1, status="deleted")) == "restored"


def test_sweep_finds_trashed_deleted_purged_and_spares_pulled() -> None:
    ledger = {p: known(p) for p in "23456"} | {"7": known("7", status="trashed")}
    current = {p: swept(p) for p in "23"}
    trashed = {"4": swept("4", status="trashed")}
    plan = plan_sweep(ledger, pulled={"6": 2}, current=current, trashed=trashed)
    assert plan.trash == ["4"] and plan.delete == ["5"] and plan.purge == ["7"]
    assert plan.fetch == [] and plan.relink == [] and plan.restore == []
    assert plan.removals == 2


def test_sweep_fetches_what_the_window_missed_and_relinks_moves_without_version() -> None:
    ledger = {"2": known("2", 1), "3": known("3", 1), "4": known("4", 1, status="trashed")}
    current = {"2": swept("2", 2),                                    # edited, not in the window
               "3": swept("3", 1, ancestors=(Ancestor("8", "New parent"),)),  # parent moved
               "4": swept("4", 1),                                    # restored, same version
               "9": swept("9", 1)}                                    # created, not in the window
    plan = plan_sweep(ledger, pulled={}, current=current, trashed={})
    assert plan.fetch == ["2", "9"]
    assert [e.id for e in plan.relink] == ["3"]
    assert plan.restore == ["4"]
    assert plan.removals == 0


def test_sweep_without_ancestors_does_not_invent_moves() -> None:
    plan = plan_sweep({"2": known("2")}, {}, {"2": swept("2", ancestors=None)}, {})
    assert plan.relink == [] and plan.fetch == []


def test_mass_delete_fraction() -> None:
    ledger = {str(i): known(str(i)) for i in range(10)}
    plan = plan_sweep(ledger, {}, {str(i): swept(str(i)) for i in range(7)}, {})
    assert plan.removals == 3
    assert too_many_removals(plan, 10, 0.2)
    assert not too_many_removals(plan, 10, 0.3)
    assert not too_many_removals(plan_sweep({}, {}, {}, {}), 0, 0.0)
