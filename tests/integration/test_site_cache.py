"""The DataFrame of the whole current site (`ingest.site_cache`) against the emulator: after each
pull it holds exactly the ledger's current pages (edits, creates, moves, trash, purge, restore), and
a refresh writes only what changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ingest.config import Settings
from ingest.errors import KBError
from ingest.pull.run import pull
from ingest.site import refresh_site, site_cache
from ingest.storage.ledger import Ledger
from tests.helpers import generated_site

TOTAL = 66


@pytest.fixture
def site(emulator_factory: Any, tmp_path: Path) -> tuple[Any, Settings]:
    return generated_site(emulator_factory, {}, tmp_path, max_retries=2)


def frame(settings: Settings) -> dict[str, dict[str, Any]]:
    cache = site_cache(settings)
    try:
        df = cache["pages"].to_pandas()
    finally:
        cache.close()
    assert df["id"].is_unique
    return {str(r["id"]): r for r in df.to_dict("records")}


def ledger_current(settings: Settings) -> dict[str, tuple[Any, ...]]:
    with Ledger(settings.data_dir) as led:
        return {r["id"]: (r["title"], r["version"], r["space_key"], r["body"]) for r in led.conn.execute(
            "SELECT id, title, version, space_key, body FROM pages WHERE status = 'current'")}


def as_ledger(df: dict[str, dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    return {i: (r["title"], r["version"], r["space_key"], r["body"]) for i, r in df.items()}


def leaves(settings: Settings, n: int) -> list[str]:
    """Pages without children: trashing or purging one changes no other page's ancestors."""
    with Ledger(settings.data_dir) as led:
        pages = [p for p in led.iter_pages(spaces=["ENG"]) if p.kind == "page"]
    parents = {a.id for p in pages for a in p.ancestors}
    return [p.id for p in pages if p.id not in parents and p.ancestors][:n]


def test_the_frame_is_the_current_site_after_each_pull(site: tuple[Any, Settings]) -> None:
    emu, settings = site
    pull(settings)
    first = frame(settings)
    assert len(first) == TOTAL and as_ledger(first) == ledger_current(settings)
    a, b, c, d = leaves(settings, 4)

    emu.admin.clock(advance_minutes=10)
    emu.admin.edit(a, title="Edited for the frame", body="<p>edited body</p>")
    created = emu.admin.create({"type": "page", "space": "ENG", "title": "Created page",
                                "body": "<p>new</p>"})
    emu.admin.trash(b)
    emu.admin.purge(c)
    emu.admin.clock(advance_minutes=10)
    pull(settings)
    second = frame(settings)
    assert set(second) == set(first) - {b, c} | {created}
    assert second[a]["title"] == "Edited for the frame" and "edited body" in second[a]["body"]
    assert second[a]["version"] == emu.admin.get(a)["version"] == first[a]["version"] + 1
    assert as_ledger(second) == ledger_current(settings)
    assert {r["status"] for r in second.values()} == {"current"}

    emu.admin.clock(advance_minutes=10)
    emu.admin.restore(b)
    emu.admin.clock(advance_minutes=10)
    pull(settings)
    third = frame(settings)
    assert set(third) == set(second) | {b} and as_ledger(third) == ledger_current(settings)
    assert third[d]["_airbyte_raw_id"] == first[d]["_airbyte_raw_id"]  # untouched rows are not rewritten


def test_a_refresh_writes_only_what_changed(site: tuple[Any, Settings]) -> None:
    emu, settings = site
    pull(settings)
    built = refresh_site(settings)
    assert (built.rows, built.written, built.deleted) == (TOTAL, TOTAL, 0)
    again = refresh_site(settings)
    assert (again.rows, again.written, again.deleted) == (TOTAL, 0, 0)
    one, two = leaves(settings, 2)
    emu.admin.clock(advance_minutes=10)
    emu.admin.edit(one, body="<p>changed</p>")
    emu.admin.purge(two)
    emu.admin.clock(advance_minutes=10)
    pull(settings, full=True)
    step = refresh_site(settings)
    assert (step.rows, step.written, step.deleted) == (TOTAL - 1, 1, 1)


def test_no_ledger_is_a_clear_error(tmp_path: Path) -> None:
    from ingest.config import load_settings

    settings = load_settings(data={"dir": str(tmp_path / "empty")})
    with pytest.raises(KBError, match="no ledger") as err:
        site_cache(settings)
    assert "kb pull" in err.value.guidance


def test_an_empty_site_is_an_empty_frame_then_fills(tmp_path: Path) -> None:
    """A ledger with no current page yet (or all of them trashed) gives a frame with no rows, not an
    error; a later tombstone leaves it again."""
    from ingest.config import load_settings
    from tests.helpers import page

    settings = load_settings(data={"dir": str(tmp_path / "kb")})
    with Ledger(settings.data_dir) as led, led.tx():
        led.upsert_page(page("1", ["gone"], status="trashed"), None)
    assert frame(settings) == {}
    with Ledger(settings.data_dir) as led, led.tx():
        led.upsert_page(page("2", ["here"], labels=("a", "b")), None)
    rows = frame(settings)
    assert list(rows) == ["2"] and "here" in rows["2"]["body"] and rows["2"]["status"] == "current"
    with Ledger(settings.data_dir) as led, led.tx():
        led.upsert_page(page("2", ["here"], version=2, status="trashed"), None)
    assert frame(settings) == {}
