"""The count gate (ingest/pull/gate.py) against the emulator: a poll sweeps only the spaces whose
counts disagree with the ledger, every kind of change still shows after one poll, the counts' blind
spot is caught by the periodic full sweep, and a failed count deletes nothing.

Proven from the emulator's request log (`/search` for counts, `ORDER BY id` for the sweep) and the
ledger."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from ingest.config import Settings, load_settings
from ingest.errors import SourceError
from ingest.pull.run import pull
from ingest.storage.ledger import Ledger
from tests.helpers import generated_site

TOTAL = 66


@pytest.fixture
def site(emulator_factory: Any, deployment: dict[str, Any], tmp_path: Path) -> tuple[Any, Settings]:
    return generated_site(emulator_factory, deployment, tmp_path, max_retries=1)


def polled(emu: Any, settings: Settings, **kw: Any) -> tuple[Any, dict[str, int]]:
    """Advance the emulator's clock, pull once; (the report, requests by kind)."""
    emu.admin.clock(advance_minutes=5)
    emu.admin.clear_requests()
    report = pull(settings, **kw)
    log = emu.admin.requests()
    kinds = {"search": sum(q["path"].endswith("/rest/api/search") for q in log),
             "sweep": sum("ORDER BY id" in ",".join(q["query"].get("cql", [])) for q in log),
             "audit": sum(q["path"].endswith("/audit") for q in log), "all": len(log)}
    return report, kinds


def page(settings: Settings, pid: str) -> Any:
    with Ledger(settings.data_dir) as led:
        return led.get_page(pid)


def spaces_of(emu: Any) -> list[str]:
    return sorted(emu.store.spaces)


def leaf(emu: Any, space: str, skip: int = 0) -> str:
    items = [i for i in emu.store.snapshot() if i.type == "page" and i.status == "current"]
    parents = {i.parent_id for i in items}
    return [i.id for i in items if i.space == space and i.id not in parents and i.parent_id][skip]


def test_a_no_change_poll_sweeps_nothing_and_reads_two_counts_a_space(site: tuple[Any, Settings]) -> None:
    emu, settings = site
    first = pull(settings)
    assert first.new == TOTAL and set(first.swept) == set(spaces_of(emu))
    assert all(r == "first sweep of the space" for r in first.swept.values())
    report, kinds = polled(emu, settings)
    assert report.swept == {} and kinds["sweep"] == 0
    assert kinds["search"] == 2 * len(spaces_of(emu)) and kinds["audit"] == 1
    assert any("no space swept" in n for n in report.notes)
    assert report.to_dict()["swept"] == {}
    with Ledger(settings.data_dir) as led:
        sweeps = json.loads(led.get_meta("sweeps") or "{}")
    assert set(sweeps) == set(spaces_of(emu)) and all("at" in v and "reason" in v for v in sweeps.values())


def test_each_change_kind_shows_after_one_poll_sweeping_only_its_spaces(site: tuple[Any, Settings]) -> None:
    emu, settings = site
    pull(settings)
    eng, other = "ENG", next(s for s in spaces_of(emu) if s != "ENG")
    a, b, c, d = (leaf(emu, eng, k) for k in range(4))

    emu.admin.edit(a, body="<p>edited body</p>")
    report, kinds = polled(emu, settings)
    assert report.changed == 1 and report.swept == {} and page(settings, a).version == 2

    created = emu.admin.create({"space": eng, "title": "A new page", "body": "<p>new</p>"})
    report, kinds = polled(emu, settings)
    assert report.new == 1 and report.swept == {} and page(settings, created).status == "current"

    emu.admin.trash(b)
    report, kinds = polled(emu, settings)
    assert page(settings, b).status == "trashed" and list(report.swept) == [eng] and kinds["sweep"] >= 1
    assert report.swept[eng].startswith("counts:")

    emu.admin.purge(b)  # out of the trash for good
    report, _ = polled(emu, settings)
    assert page(settings, b).status == "deleted" and list(report.swept) == [eng]

    emu.admin.set_restrictions(c, groups=["confluence-administrators"])  # no version, no count moves
    report, _ = polled(emu, settings)
    assert page(settings, c).read_groups == ("confluence-administrators",)
    assert list(report.swept) == [eng] and "audit log" in report.swept[eng]

    emu.admin.move(d, other)  # to another space: no version, no lastmodified; both counts move
    report, _ = polled(emu, settings)
    assert page(settings, d).space_key == other and page(settings, d).status == "current"
    assert set(report.swept) == {eng, other} and report.deleted == 0

    report, kinds = polled(emu, settings)
    assert report.swept == {} and kinds["sweep"] == 0  # settled: the next poll is quiet again


def test_the_counts_blind_spot_is_caught_by_the_periodic_full_sweep(site: tuple[Any, Settings]) -> None:
    emu, settings = site
    pull(settings)
    eng = "ENG"
    purged = leaf(emu, eng)
    emu.admin.trash(purged)
    report, _ = polled(emu, settings)
    assert page(settings, purged).status == "trashed"
    # Between two polls: a page purged from the trash, and a page created and trashed that no window
    # ever saw. The space's current and trashed counts are both where they were.
    emu.admin.purge(purged)
    emu.admin.trash(emu.admin.create({"space": eng, "title": "Born and binned", "body": "<p>x</p>"}))
    report, kinds = polled(emu, settings)
    assert report.swept == {} and kinds["sweep"] == 0 and page(settings, purged).status == "trashed"
    soon = settings.model_copy(update={"pull": settings.pull.model_copy(update={"full_sweep_every": "1s"})})
    time.sleep(1.1)
    report, _ = polled(emu, soon)
    assert set(report.swept) == set(spaces_of(emu))
    assert all(r.startswith("periodic") for r in report.swept.values())
    assert page(settings, purged).status == "deleted"


def test_a_failed_count_deletes_nothing_and_an_unreadable_one_sweeps(emulator_factory: Any,
                                                                      tmp_path: Path) -> None:
    emu = emulator_factory(pages=30, seed=5)
    settings = load_settings(confluence=emu.confluence_settings(), data={"dir": str(tmp_path / "kb")},
                             pull={"backoff_factor": 0.01, "max_retries": 1})
    pull(settings)
    gone = leaf(emu, "ENG")
    emu.admin.purge(gone)
    emu.admin.faults(f"{emu.rest}/search", "503")
    with pytest.raises(SourceError, match="search"):
        polled(emu, settings)
    assert page(settings, gone).status == "current"  # a failed count: nothing deleted
    emu.admin.clear_faults()
    emu.admin.faults(f"{emu.rest}/search", "403")  # counts refused: unknown, so every space is swept
    report, kinds = polled(emu, settings)
    assert page(settings, gone).status == "deleted" and kinds["sweep"] >= 1
    assert set(report.swept.values()) == {"its counts could not be read"}


def test_an_unreadable_audit_log_is_not_a_failed_pull_and_says_what_lags(emulator_factory: Any,
                                                                          tmp_path: Path) -> None:
    emu = emulator_factory(pages=20, seed=7)
    settings = load_settings(confluence=emu.confluence_settings(), data={"dir": str(tmp_path / "kb")})
    pull(settings)
    pid = leaf(emu, "ENG")
    emu.admin.faults(f"{emu.rest}/audit", "403")
    emu.admin.set_restrictions(pid, groups=["confluence-administrators"])
    report, _ = polled(emu, settings)
    assert report.swept == {} and page(settings, pid).read_groups == ()
    assert any("audit log is not readable" in n and "full_sweep_every = 24h" in n for n in report.notes)
    emu.admin.clear_faults()  # readable again: the change it missed is still in the log
    report, _ = polled(emu, settings)
    assert page(settings, pid).read_groups == ("confluence-administrators",) and list(report.swept) == ["ENG"]
