"""A poll's small read held in memory (ingest/pull/_airbyte/memory.py) against the emulator: a
no-change poll reads no listing, opens no DuckDB cache and writes no page; each kind of change still
gets through it; a window too large for it spills to files in the same read, and a read loop that
breaks falls back to the cached read, each with the same result; a read that a failed request ends
deletes nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

import ingest.pull._airbyte as src
import ingest.pull._airbyte.memory as memory
import ingest.pull.run as run_module
from ingest.config import Settings
from ingest.errors import SourceError
from ingest.pull.run import pull
from ingest.storage.ledger import Ledger
from tests.helpers import generated_site


@pytest.fixture
def site(emulator_factory: Any, deployment: dict[str, Any], tmp_path: Path) -> tuple[Any, Settings]:
    emu, settings = generated_site(emulator_factory, deployment, tmp_path, max_retries=1)
    pull(settings)
    return emu, settings


@pytest.fixture
def cached_reads(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The streams of every read into a DuckDB cache (the poll's small read is not one)."""
    calls: list[list[str]] = []
    real = src.read

    def spy(settings: Settings, source: Any, cache: Any, streams: list[str], *a: Any, **kw: Any) -> None:
        calls.append(list(streams))
        real(settings, source, cache, streams, *a, **kw)

    monkeypatch.setattr(src, "read", spy)
    return calls


def polled(emu: Any, settings: Settings) -> tuple[Any, list[dict[str, Any]]]:
    emu.admin.clock(advance_minutes=5)
    emu.admin.clear_requests()
    report = pull(settings)
    return report, emu.admin.requests()


def rows(settings: Settings) -> list[tuple[Any, ...]]:
    with sqlite3.connect(settings.data_dir / "ledger.sqlite3") as conn:
        return conn.execute("SELECT * FROM pages ORDER BY id").fetchall()


def page(settings: Settings, pid: str) -> Any:
    with Ledger(settings.data_dir) as led:
        return led.get_page(pid)


def leaf(emu: Any, space: str, skip: int = 0) -> str:
    items = [i for i in emu.store.snapshot() if i.type == "page" and i.status == "current"]
    parents = {i.parent_id for i in items}
    return [i.id for i in items if i.space == space and i.id not in parents and i.parent_id][skip]


def test_a_no_change_poll_reads_no_listing_opens_no_cache_and_writes_no_page(
        site: tuple[Any, Settings], cached_reads: list[list[str]]) -> None:
    emu, settings = site
    before = rows(settings)
    report, log = polled(emu, settings)
    assert report.swept == {} and report.changed == report.new == report.deleted == 0
    assert cached_reads == []  # every stream came through the small read
    assert not any("ORDER BY id" in ",".join(q["query"].get("cql", [])) for q in log)  # no id listing
    assert not any(q["path"].endswith("/content") for q in log)  # no trash listing
    assert rows(settings) == before
    assert list((settings.data_dir / "airbyte").glob("manifest-*.duckdb*")) == []  # the stale file went


def test_each_change_kind_gets_through_the_small_read(site: tuple[Any, Settings],
                                                      cached_reads: list[list[str]]) -> None:
    emu, settings = site
    a, b, c = (leaf(emu, "ENG", k) for k in range(3))
    version = page(settings, a).version
    emu.admin.edit(a, body="<p>edited through memory</p>")
    created = emu.admin.create({"space": "ENG", "title": "Made between polls", "body": "<p>new</p>"})
    report, _ = polled(emu, settings)
    assert report.changed == 1 and report.new == 1 and page(settings, a).version == version + 1
    assert page(settings, created).status == "current"
    emu.admin.trash(b)
    emu.admin.set_restrictions(c, groups=["confluence-administrators"])
    report, _ = polled(emu, settings)
    assert page(settings, b).status == "trashed" and "ENG" in report.swept
    assert page(settings, c).read_groups == ("confluence-administrators",)
    # every read of each poll was held in memory: the window's and the sweep's listing
    assert cached_reads == []


def test_a_window_too_large_for_memory_spills_to_files_with_the_same_result(
        site: tuple[Any, Settings], cached_reads: list[list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    emu, settings = site
    monkeypatch.setattr(run_module, "SMALL_READ", 3)
    spilled: list[str] = []
    real_add = memory._Spiller.add

    def add(self: Any, stream: str, record: dict[str, Any]) -> None:
        spilled.append(str(record.get("id")))
        real_add(self, stream, record)

    monkeypatch.setattr(memory._Spiller, "add", add)
    edited = {pid: page(settings, pid).version for pid in (leaf(emu, "ENG", k) for k in range(6))}
    for pid in edited:
        emu.admin.edit(pid, body=f"<p>bulk edit {pid}</p>")
    report, _ = polled(emu, settings)
    assert report.changed == len(edited)
    assert all(page(settings, pid).version == v + 1 for pid, v in edited.items())
    assert set(edited) <= set(spilled)  # past the limit, the window went to the spill files
    assert cached_reads == []  # one read, not a second one into the cache
    assert list((settings.data_dir / "airbyte").glob("spill*")) == []  # and the files went with it
    report, _ = polled(emu, settings)
    assert report.changed == 0 and report.swept == {}


def test_a_broken_read_loop_falls_back_to_the_cached_read(site: tuple[Any, Settings],
                                                          cached_reads: list[list[str]],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    emu, settings = site

    def broken(source: Any, streams: list[str]) -> Any:
        raise AttributeError("PyAirbyte moved its read loop")
        yield  # a generator, as _records is

    monkeypatch.setattr(memory, "_records", broken)
    pid = leaf(emu, "ENG")
    version = page(settings, pid).version
    emu.admin.edit(pid, body="<p>edited while the loop is broken</p>")
    report, _ = polled(emu, settings)
    assert report.changed == 1 and page(settings, pid).version == version + 1 and len(cached_reads) == 1


def test_a_small_read_a_failed_request_ends_keeps_the_window_deletes_nothing_and_is_not_retried_cached(
        site: tuple[Any, Settings], cached_reads: list[list[str]]) -> None:
    emu, settings = site
    gone, edited = leaf(emu, "ENG"), leaf(emu, "ENG", 1)
    version = page(settings, edited).version
    emu.admin.purge(gone)
    emu.admin.edit(edited, body="<p>edited before the outage</p>")
    before = rows(settings)
    emu.admin.faults(f"{emu.rest}/search", "503")
    with pytest.raises(SourceError, match="search"):
        polled(emu, settings)
    # The window had answered: its edit is kept (as a failed cached read keeps it); nothing deleted.
    assert cached_reads == [] and [r for r in rows(settings) if r[0] != edited] == [
        r for r in before if r[0] != edited]
    assert page(settings, gone).status == "current" and page(settings, edited).version == version + 1
    emu.admin.clear_faults()
    polled(emu, settings)
    assert page(settings, gone).status == "deleted" and page(settings, edited).version == version + 1
