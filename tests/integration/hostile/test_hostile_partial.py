"""Hostile review, the pull (issue 17): "a pull that fails late keeps nothing of what it already read".

Now a read that fails part-way applies the content it had read, moves each kind's cursor no
further than that, deletes nothing, and the next pull goes on from there to the same ledger as a
clean pull.
"""

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

SEARCH = "/wiki/rest/api/content/search"
PAGES, BLOGS, PAGE_SIZE = 60, 4, 10
STABLE = ("id", "kind", "space_key", "title", "url", "version", "updated_at", "status", "labels",
          "ancestors", "read_users", "read_groups", "body", "acl")


def settings_for(emu: Any, path: Path) -> Settings:
    return load_settings(confluence=emu.confluence_settings(), data={"dir": str(path)},
                         pull={"page_size": PAGE_SIZE, "sweep_page_size": 25, "backoff_factor": 0.01,
                               "max_retries": 1})


def rows(settings: Settings, where: str = "") -> list[tuple[Any, ...]]:
    """The ledger's pages (`where`: a filter, e.g. current only: a clean pull has no tombstones)."""
    with Ledger(settings.data_dir) as led:
        cols = ", ".join(STABLE)
        return [tuple(r) for r in led.conn.execute(f"SELECT {cols} FROM pages {where} ORDER BY id")]


def page_searches(emu: Any) -> list[str]:
    cqls = [(q["query"].get("cql") or [""])[0] for q in emu.admin.requests() if q["path"] == SEARCH]
    return [cql for cql in cqls if cql.startswith("type=page ")]


def assert_same(got: list[tuple[Any, ...]], want: list[tuple[Any, ...]]) -> None:
    """Ledgers equal, or the first differing page's differing columns."""
    for a, b in zip(got, want, strict=False):
        diff = {c: (x, y) for c, x, y in zip(STABLE, a, b, strict=True) if x != y}
        assert not diff, f"page {a[0]}: {diff}"
    assert len(got) == len(want)


@pytest.fixture
def site(emulator_factory: Any) -> Any:
    return emulator_factory(pages=PAGES, blogposts=BLOGS, seed=11)


def test_a_first_pull_that_fails_late_keeps_what_it_read(site: Any, tmp_path: Path) -> None:
    settings = settings_for(site, tmp_path / "kb")
    site.admin.faults(SEARCH, "503", after=3)  # three listings answer (streams run concurrently), then 503s
    with pytest.raises(SourceError) as err:
        pull(settings)
    assert "kept" in err.value.guidance and "kb pull" in err.value.guidance
    with Ledger(settings.data_dir) as led:
        kept = {p.id: p for p in led.iter_pages()}
        kept_pages = sorted((p for p in kept.values() if p.kind == "page"), key=lambda p: p.updated_at)
        assert 0 < len(kept) < PAGES + BLOGS and kept_pages
        assert led.get_cursor("content.page") == kept_pages[-1].updated_at  # the prefix read, no further
        assert (led.get_cursor("content") or "") <= kept_pages[-1].updated_at
        assert led.last_run("pull")["status"] == "failed"
        assert all(p.acl for p in kept.values()), "kept pages are classified"

    site.admin.clear_faults()
    site.admin.clear_requests()
    report = pull(settings)  # goes on from there
    assert report.new == PAGES + BLOGS - len(kept)
    assert "1999-12-31" not in page_searches(site)[0], "the page window starts at the kept cursor"

    clean = settings_for(site, tmp_path / "clean")
    pull(clean)
    assert_same(rows(settings), rows(clean))
    with Ledger(settings.data_dir) as led, Ledger(clean.data_dir) as ref:
        assert led.get_cursor("content") == ref.get_cursor("content")
        everything = sorted((p for p in ref.iter_pages() if p.kind == "page"),
                            key=lambda p: (p.updated_at, p.id))
    # The kept pages are a prefix of the site in lastmodified order (what makes the cursor exact).
    assert {p.id for p in everything[:len(kept_pages)]} == {p.id for p in kept_pages}


def test_a_failed_sweep_keeps_the_window_and_deletes_nothing(site: Any, tmp_path: Path) -> None:
    settings = settings_for(site, tmp_path / "kb")
    pull(settings)
    before = rows(settings)
    site.admin.clock(advance_minutes=10)
    edited = before[0][0]
    site.admin.edit(edited, body="<p>edited before the outage</p>")
    parents = {a for r in before for a, _ in json.loads(r[STABLE.index("ancestors")])}
    leaf = next(r[0] for r in before[1:] if r[0] not in parents)  # a trashed parent would hide its children
    site.admin.trash(leaf)
    # The window's listings answer; everything after them (the sweep's listings) fails.
    site.admin.faults(SEARCH, "503", after=2)
    with pytest.raises(SourceError):
        pull(settings)
    after = {r[0]: r for r in rows(settings)}
    assert "edited before the outage" in after[edited][STABLE.index("body")]
    assert after[leaf][STABLE.index("status")] == "current", "no sweep, no deletion"
    site.admin.clear_faults()
    pull(settings)
    assert {r[0]: r for r in rows(settings)}[leaf][STABLE.index("status")] == "trashed"
    clean = settings_for(site, tmp_path / "clean")
    pull(clean)
    current = "WHERE status = 'current'"
    assert_same(rows(settings, current), rows(clean, current))


def test_retries_of_a_site_that_keeps_failing_are_bounded_in_total(site: Any, tmp_path: Path) -> None:
    """Before: each request retried max_retries times with exponential backoff, stream after stream
    (here 10 retries at factor 0.5: over 8 minutes of one request alone). Now the read stops once
    nothing has succeeded for give_up_after_seconds, and keeps what it read."""
    settings = load_settings(confluence=site.confluence_settings(), data={"dir": str(tmp_path / "kb")},
                             pull={"page_size": PAGE_SIZE, "backoff_factor": 0.5, "max_retries": 10,
                                   "give_up_after_seconds": 2})
    from ingest.pull._airbyte.env import import_airbyte, prepare_environment

    prepare_environment(settings)
    import_airbyte()  # time the pull, not the import
    site.admin.faults(SEARCH, "503", after=2)
    started = time.monotonic()
    with pytest.raises(SourceError) as err:
        pull(settings)
    took = time.monotonic() - started
    assert took < 10, f"{took:.1f} s"
    assert "no good answer" in err.value.message and "give_up_after_seconds" in err.value.guidance
    assert "kept" in err.value.guidance
    with Ledger(settings.data_dir) as led:
        assert list(led.iter_pages())
