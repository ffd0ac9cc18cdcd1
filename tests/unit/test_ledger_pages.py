"""Ledger page methods that pull writes and the index reads: upsert, get, iter, states, status."""

from __future__ import annotations

from pathlib import Path

from ingest.records import Ancestor, Page
from ingest.storage.ledger import Ledger


def _page(pid: str, space: str = "ENG", version: int = 1, **kw: object) -> Page:
    return Page(id=pid, kind="page", space_key=space, title=f"T{pid}", url=f"https://x/{pid}",
                version=version, updated_at="2026-01-01T00:00:00.000Z", body_html=f"<p>{pid}</p>", **kw)


def test_upsert_roundtrip_keeps_every_field_and_index_columns(tmp_path: Path) -> None:
    led = Ledger(tmp_path)
    page = _page("1", labels=("a", "b"), ancestors=(Ancestor("0", "Root"),), read_users=("u1",),
                 read_groups=("g",), author="acc", created_at="2025", space_name="Engineering")
    with led.tx():
        led.upsert_page(page, 1)
        led.conn.execute("UPDATE pages SET indexed_version = 1, indexed_hash = 'h' WHERE id = '1'")
    assert led.get_page("1") == page
    with led.tx():
        led.upsert_page(_page("1", version=2), 2)
    row = led.conn.execute(
        "SELECT version, indexed_version, indexed_hash, last_seen_run FROM pages").fetchone()
    assert tuple(row) == (2, 1, "h", 2)
    assert led.count("pages") == 1
    assert led.get_page("missing") is None


def test_iter_pages_filters_status_and_space_and_streams(tmp_path: Path) -> None:
    led = Ledger(tmp_path)
    with led.tx():
        for i in range(450):
            led.upsert_page(_page(f"{i:04d}", space="ENG" if i % 2 else "OPS"), 1)
        led.set_page_status("0001", "trashed", 2)
    assert len(list(led.iter_pages())) == 449
    assert [p.id for p in led.iter_pages("trashed")] == ["0001"]
    assert len(list(led.iter_pages(None))) == 450
    assert {p.space_key for p in led.iter_pages(spaces=["OPS"])} == {"OPS"}
    states = led.page_states(spaces=["ENG"])
    assert len(states) == 225 and states["0001"].status == "trashed"
