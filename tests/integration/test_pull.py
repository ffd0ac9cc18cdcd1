"""The incremental pull against the emulator, proven from its request log and the ledger.

A generated site (3 spaces, 60 pages, 6 blog posts) and small page sizes, so every read pages.
The emulator's clock moves between steps, so each pull's lookback window is predictable. Every
test on `site` runs against both modes of the emulator: Cloud and Data Center (`deployment`).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from ingest.config import Settings, load_settings
from ingest.errors import MassDeleteRefused, SourceError
from ingest.pull.run import iter_work, pull
from ingest.records import PullReport
from ingest.storage.ledger import Ledger
from tests.helpers import generated_site

TOTAL = 66


@pytest.fixture
def site(emulator_factory: Any, deployment: dict[str, Any], tmp_path: Path) -> tuple[Any, Settings]:
    return generated_site(emulator_factory, deployment, tmp_path, max_retries=2)


def rows(settings: Settings) -> list[tuple[Any, ...]]:
    """The ledger's page content, for comparing runs (run ids aside)."""
    with Ledger(settings.data_dir) as led:
        return [tuple(r) for r in led.conn.execute(
            "SELECT id, kind, space_key, space_name, title, url, version, updated_at, status, labels, "
            "ancestors, read_users, read_groups, body FROM pages ORDER BY id")]


def ledger(settings: Settings) -> Ledger:
    return Ledger(settings.data_dir)


def changes(report: PullReport) -> dict[str, int]:
    d = report.to_dict()
    return {k: d[k] for k in ("new", "changed", "moved", "deleted", "restored") if d[k]}


def window_start(cursor: str, lookback: int = 2) -> str:
    when = dt.datetime.fromisoformat(cursor.replace("Z", "+00:00")) - dt.timedelta(minutes=lookback)
    return when.strftime("%Y-%m-%d %H:%M")


def body_requests(emu: Any) -> list[dict[str, Any]]:
    return [q for q in emu.admin.requests() if "body.storage" in ",".join(q["query"].get("expand", []))]


def leaves(settings: Settings, n: int, space: str = "ENG") -> list[str]:
    """Pages without children (moving one moves nothing else)."""
    with ledger(settings) as led:
        pages = [p for p in led.iter_pages(spaces=[space]) if p.kind == "page"]
    parents = {a.id for p in pages for a in p.ancestors}
    return [p.id for p in pages if p.id not in parents and p.ancestors][:n]


def test_first_pull_reads_all_then_only_the_window(site: tuple[Any, Settings]) -> None:
    emu, settings = site
    first = pull(settings)
    assert (first.seen, first.new, first.deleted) == (TOTAL, TOTAL, 0)
    assert first.requests == len(emu.admin.requests()) and first.bytes > 0
    with ledger(settings) as led:
        assert led.count("pages", "status = 'current'") == TOTAL
        cursor = led.get_cursor("content")
        assert cursor == max(p.updated_at for p in led.iter_pages())
        page = next(led.iter_pages())
        assert page.body_html and page.url.startswith(emu.site_url + "/") and page.space_name
    emu.admin.clear_requests()
    second = pull(settings)
    since = window_start(cursor)
    reads = body_requests(emu)
    assert reads and all(f'lastmodified >= "{since}"' in q["query"]["cql"][0] for q in reads)
    with ledger(settings) as led:
        in_window = [p for p in led.iter_pages() if p.updated_at[:16].replace("T", " ") >= since]
    assert second.seen == second.unchanged == len(in_window) < TOTAL
    assert (second.new, second.changed, second.moved, second.deleted) == (0, 0, 0, 0)
    assert second.requests == len(emu.admin.requests())


def test_each_change_shows_up_exactly(site: tuple[Any, Settings]) -> None:
    emu, settings = site
    pull(settings)
    a, b, c, d, e, parent = leaves(settings, 6)

    def step(mutate: Any) -> PullReport:
        emu.admin.clock(advance_minutes=10)
        mutate()
        return pull(settings)

    assert changes(step(lambda: emu.admin.edit(a, body="<p>edited</p>"))) == {"changed": 1}
    created: list[str] = []
    assert changes(step(lambda: created.append(emu.admin.create(
        {"type": "page", "space": "ENG", "title": "Created page", "body": "<p>new</p>"})))) == {"new": 1}
    assert changes(step(lambda: emu.admin.edit(b, parent_id=parent))) == {"moved": 1}
    assert changes(step(lambda: emu.admin.trash(c))) == {"deleted": 1}
    assert changes(step(lambda: emu.admin.restore(c))) == {"restored": 1}
    assert changes(step(lambda: emu.admin.purge(d))) == {"deleted": 1}
    with ledger(settings) as led:
        assert "edited" in led.get_page(a).body_html
        assert led.get_page(created[0]).title == "Created page"
        assert led.get_page(b).ancestors[-1].id == parent
        assert (led.get_page(c).status, led.get_page(d).status) == ("current", "deleted")

    def mix() -> None:
        emu.admin.edit(a, title="Renamed A", parent_id=parent)
        emu.admin.edit(e, body="<p>again</p>")
        emu.admin.create({"type": "blogpost", "space": "OPS", "title": "News", "body": "<p>b</p>"})
        emu.admin.trash(c)

    assert changes(step(mix)) == {"new": 1, "changed": 1, "moved": 1, "deleted": 1}
    with ledger(settings) as led:
        assert led.get_page(c).status == "trashed" and led.get_page(a).title == "Renamed A"
        assert led.count("pages") == TOTAL + 2  # rows are never deleted: tombstones stay


def test_an_edit_in_the_cursors_minute_is_not_lost(site: tuple[Any, Settings]) -> None:
    emu, settings = site
    pull(settings)
    a, b = leaves(settings, 2)
    emu.admin.clock(set="2030-01-01T10:05:10.000Z")
    emu.admin.edit(a, body="<p>first</p>")
    pull(settings)
    with ledger(settings) as led:
        assert (led.get_cursor("content") or "").startswith("2030-01-01T10:05:10")
    emu.admin.clock(set="2030-01-01T10:05:50.000Z")
    emu.admin.edit(b, body="<p>same minute</p>")
    report = pull(settings)
    assert report.changed == 1
    with ledger(settings) as led:
        assert "same minute" in led.get_page(b).body_html
        assert (led.get_cursor("content") or "").startswith("2030-01-01T10:05:50")


def test_space_filter_is_respected(site: tuple[Any, Settings]) -> None:
    emu, settings = site
    report = pull(settings, spaces=["OPS"])
    assert report.new == 22
    searches = [q for q in emu.admin.requests() if q["path"].endswith("/content/search")]
    assert searches and all("space IN (OPS)" in q["query"]["cql"][0] for q in searches)
    with ledger(settings) as led:
        assert {p.space_key for p in led.iter_pages(None)} == {"OPS"}
        assert led.get_cursor("content@OPS") and led.get_cursor("content") is None
    rest = pull(settings)  # the whole site: the filtered pull's cursor does not hide other spaces
    assert (rest.new, rest.deleted) == (TOTAL - 22, 0)


def test_dry_run_lists_the_work_and_changes_nothing(site: tuple[Any, Settings]) -> None:
    emu, settings = site
    pull(settings)
    a, b = leaves(settings, 2)
    emu.admin.clock(advance_minutes=10)
    emu.admin.edit(a, body="<p>x</p>")
    emu.admin.purge(b)
    before = rows(settings)
    with ledger(settings) as led:
        cursor = led.get_cursor("content")
    raw = settings.data_dir / "airbyte"
    caches = {p.name: p.stat().st_mtime_ns for p in raw.glob("*.duckdb")}
    report = pull(settings, dry_run=True)
    assert changes(report) == {"changed": 1, "deleted": 1}
    work = list(iter_work(report))
    assert any(line.startswith(f"changed page {a} ") for line in work)
    assert any(line.startswith(f"deleted {b} ") for line in work)
    assert rows(settings) == before
    with ledger(settings) as led:
        assert led.get_cursor("content") == cursor
    assert {p.name: p.stat().st_mtime_ns for p in raw.glob("*.duckdb")} == caches  # the raw cache too


def test_mass_delete_is_refused_without_the_flag(site: tuple[Any, Settings]) -> None:
    emu, settings = site
    pull(settings)
    with ledger(settings) as led:
        victims = [p.id for p in led.iter_pages(spaces=["DATA"])][:15]  # 15 of 66 > 20%
    emu.admin.clock(advance_minutes=10)
    for pid in victims:
        emu.admin.purge(pid)
    with pytest.raises(MassDeleteRefused, match="refusing to remove 15 of 66"):
        pull(settings)
    with ledger(settings) as led:
        assert led.count("pages", "status = 'current'") == TOTAL
    report = pull(settings, allow_mass_delete=True)
    assert report.deleted == 15
    with ledger(settings) as led:
        assert led.count("pages", "status = 'deleted'") == 15


def test_a_sweep_that_fails_midway_deletes_nothing(site: tuple[Any, Settings]) -> None:
    emu, settings = site
    pull(settings)
    a, b = leaves(settings, 2)
    emu.admin.clock(advance_minutes=10)
    emu.admin.purge(a)
    emu.admin.trash(b)
    before = rows(settings)
    emu.admin.faults(f"{emu.rest}/conten[t]", "503")  # the trash listing: the sweep's second half
    with pytest.raises(SourceError, match=re.escape(emu.rest) + r"/content -> 503"):
        pull(settings)
    assert rows(settings) == before
    emu.admin.clear_faults()
    assert changes(pull(settings)) == {"deleted": 2}


def test_moving_or_renaming_a_parent_moves_its_descendants(site: tuple[Any, Settings],
                                                           tmp_path: Path) -> None:
    emu, settings = site
    pull(settings)
    with ledger(settings) as led:
        pages = [p for p in led.iter_pages(spaces=["ENG"]) if p.kind == "page"]
    parents = {a.id for p in pages for a in p.ancestors}
    node = next(p for p in pages if p.id in parents and p.ancestors)  # has children and a parent
    below = [p.id for p in pages if node.id in {a.id for a in p.ancestors}]
    target = next(p.id for p in pages if p.id not in parents and p.id not in below and p.id != node.id)
    emu.admin.clock(advance_minutes=10)
    emu.admin.edit(node.id, title="Moved and renamed", parent_id=target)
    report = pull(settings)
    assert changes(report) == {"moved": 1 + len(below)}
    clean = load_settings(confluence=emu.confluence_settings(), data={"dir": str(tmp_path / "clean")})
    pull(clean)
    assert rows(settings) == rows(clean)  # exactly what a fresh pull of the moved tree holds
    with ledger(settings) as led:
        for pid in below:
            chain = [a.id for a in led.get_page(pid).ancestors]
            assert target in chain and "Moved and renamed" in [a.title for a in led.get_page(pid).ancestors]


def test_plain_http_emulator_without_a_ca(emulator_factory: Any, tmp_path: Path) -> None:
    emu = emulator_factory(pages=12, seed=1, http=True)
    settings = load_settings(confluence=emu.confluence_settings(), data={"dir": str(tmp_path / "kb")})
    assert settings.confluence.scheme == "http" and not settings.confluence.ca_bundle
    assert pull(settings).new == 12


def test_sweep_every_n_sweeps_each_nth_pull_whatever_the_counts_and_full_always_sweeps(
        site: tuple[Any, Settings]) -> None:
    emu, settings = site
    every = settings.model_copy(update={"pull": settings.pull.model_copy(update={"sweep_every": 3})})
    assert pull(every).new == TOTAL  # the first pull sweeps
    a = leaves(every, 1)[0]

    def step(mutate: Any = None, **kw: Any) -> tuple[bool, PullReport]:
        """(whether the pull read the id sweep, its report)"""
        emu.admin.clock(advance_minutes=10)
        if mutate:
            mutate()
        emu.admin.clear_requests()
        report = pull(every, **kw)
        return any("ORDER BY id" in ",".join(q["query"].get("cql", [])) for q in emu.admin.requests()), report

    runs = [step(), step(), step(), step(lambda: emu.admin.purge(a)), step(full=True)]
    assert [(swept, r.deleted) for swept, r in runs] == [(False, 0), (False, 0), (True, 0), (True, 1),
                                                          (True, 0)]
    assert set(runs[2][1].swept.values()) == {"sweep_every=3"}
    assert runs[3][1].swept["ENG"].startswith("counts:")  # the purge: the gate, not the counter
    assert set(runs[4][1].swept.values()) == {"kb pull --full"}
    with ledger(every) as led:
        assert led.get_page(a).status == "deleted"
