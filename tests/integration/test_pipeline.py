"""`ingest()` end to end: the emulator over loopback, PyAirbyte, the real clean and chunk, a real Chroma
on a tmp dir, the fake embedder (the real model has its own few tests)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ingest.config import Settings
from ingest.errors import IndexMismatch
from ingest.index.embed import FakeEmbedder
from ingest.pipeline import ingest, reindex, status
from ingest.storage.ledger import Ledger
from tests.helpers import kb_settings, snapshot


@pytest.fixture()
def generated(emulator_factory: Any) -> Any:
    return emulator_factory(sample=False, pages=24, seed=7)


def test_ingest_counts_metadata_and_no_change(generated: Any, tmp_path: Path) -> None:
    settings, fake = kb_settings(generated, tmp_path / "kb"), FakeEmbedder()
    first = ingest(settings, embedder=fake)
    assert first.index.pages_new == first.pull.seen == 24 and first.index.pages_failed == 0
    snap = snapshot(settings, fake)
    assert len(snap["chroma"]) == len(snap["rows"]) == first.index.chunks_written > 24
    for cid, (meta, _) in snap["chroma"].items():
        assert meta["page_id"] == snap["rows"][cid][0] and meta["text_hash"] == snap["rows"][cid][2]
        assert meta["title"] and meta["url"].startswith("https://") and meta["space_key"] \
            and meta["version"] >= 1
    again = ingest(settings, embedder=fake)
    assert again.index.chunks_embedded == 0 and again.index.pages_unchanged == 24
    data = status(settings)
    assert data["pages"] == 24 and data["chunks"] == len(snap["rows"]) \
        and data["last_run"]["kind"] == "ingest"
    assert again.to_dict()["chunks"]["embedded"] == 0 and "pages/s" in again.to_dict()


def _longest_page(settings: Settings) -> str:
    with Ledger(settings.data_dir) as ledger:
        return str(ledger.conn.execute("SELECT page_id FROM chunks GROUP BY page_id ORDER BY count(*) DESC, "
                                       "page_id LIMIT 1").fetchone()[0])


def test_one_paragraph_edit_reembeds_only_its_chunks(generated: Any, tmp_path: Path) -> None:
    settings, fake = kb_settings(generated, tmp_path / "kb"), FakeEmbedder()
    ingest(settings, embedder=fake)
    pid = _longest_page(settings)
    before = snapshot(settings, fake)["rows"]
    with Ledger(settings.data_dir) as ledger:
        body = ledger.conn.execute("SELECT body FROM pages WHERE id = ?", (pid,)).fetchone()[0]
    paragraphs = re.findall(r"<p>(.*?)</p>", body, flags=re.S)
    target = paragraphs[len(paragraphs) // 2]
    generated.admin.edit(pid, body=body.replace(target, "Zanzibar quokka marmalade appears here now.", 1))
    report = ingest(settings, embedder=fake)
    after = snapshot(settings, fake)["rows"]
    mine = {c for c in after if after[c][0] == pid}
    changed = {c for c in mine if before.get(c, (None,) * 3)[2] != after[c][2]}
    assert report.index.pages_changed == 1 and report.index.pages_unchanged == 23
    assert 1 <= report.index.chunks_embedded == len(changed) < len(mine)
    assert any("Zanzibar" in after[c][5] for c in changed)
    assert {c: r for c, r in before.items() if r[0] != pid} == {c: r for c, r in after.items() if r[0] != pid}


def test_trash_purge_and_move(generated: Any, tmp_path: Path) -> None:
    settings, fake = kb_settings(generated, tmp_path / "kb"), FakeEmbedder()
    ingest(settings, embedder=fake)
    rows = snapshot(settings, fake)["rows"]
    pages = sorted({r[0] for r in rows.values()})
    trashed, purged, moved, parent = pages[0], pages[1], pages[2], pages[3]
    generated.admin.trash(trashed)
    generated.admin.purge(purged)
    generated.admin.edit(moved, title="A renamed page", parent_id=parent)
    report = ingest(settings, embedder=fake)
    # a move carries the page's descendants along: their ancestors (and headers) change too
    assert report.index.pages_deleted == 2 and report.index.pages_moved == report.pull.moved >= 1
    snap = snapshot(settings, fake)
    held = {meta["page_id"] for meta, _ in snap["chroma"].values()}
    assert trashed not in held and purged not in held and len(snap["chroma"]) == len(snap["rows"])
    moved_meta = [meta for meta, _ in snap["chroma"].values() if meta["page_id"] == moved]
    assert moved_meta and all(m["title"] == "A renamed page" for m in moved_meta)
    parent_title = generated.admin.get(parent)["title"]
    assert all(parent_title in r[3] for r in snap["rows"].values() if r[0] == moved)
    with Ledger(settings.data_dir) as ledger:
        hits = ledger.conn.execute("SELECT count(*) FROM chunks_fts f JOIN chunks c ON c.rowid = f.rowid "
                                   "WHERE c.page_id IN (?, ?)", (trashed, purged)).fetchone()[0]
    assert hits == 0


def test_model_mismatch_is_a_clear_error(generated: Any, tmp_path: Path) -> None:
    settings = kb_settings(generated, tmp_path / "kb")
    ingest(settings, embedder=FakeEmbedder(dimensions=64))
    with pytest.raises(IndexMismatch) as err:
        ingest(settings, embedder=FakeEmbedder(dimensions=32))
    assert "kb reindex" in str(err.value) and "model_id" in str(err.value)
    report = reindex(settings, embedder=FakeEmbedder(dimensions=32))
    assert report.index.chunks_written == status(settings)["chunks"] > 0
    assert ingest(settings, embedder=FakeEmbedder(dimensions=32)).index.chunks_embedded == 0


def test_mentions_show_the_display_names_the_pull_saw(emulator: Any, tmp_path: Path) -> None:
    """The pull keeps accountId -> display name from the records it reads (creators, editors,
    restriction users); the index shows a mention by that name, never "(unknown user)"."""
    settings, fake = kb_settings(emulator, tmp_path / "kb"), FakeEmbedder()
    ingest(settings, embedder=fake)
    with Ledger(settings.data_dir) as ledger:
        users = ledger.users()
        text = " ".join(t for (t,) in ledger.conn.execute("SELECT text FROM chunks WHERE page_id = '65601'"))
    assert users["5f0c8e2a1b3d4c0069a1e005"] == "Ana Beatriz Costa"
    assert "Handbook owner: Ana Beatriz Costa" in text
    assert "5f0c8e2a1b3d4c0069a1e005" not in text
    # reindex cleans with the same names: every vector is reused
    assert reindex(settings, embedder=fake).to_dict()["chunks"]["embedded"] == 0


def test_a_page_is_redone_when_a_name_it_mentions_becomes_known() -> None:
    from ingest.index.indexer import page_fingerprint
    from ingest.records import Page

    body = '<p>Owner: <ac:link><ri:user ri:account-id="u1" /></ac:link></p>'
    page = Page("1", "page", "S", "T", "u", 1, "2024-01-01T00:00:00Z", body_html=body)
    plain = Page("2", "page", "S", "T", "u", 1, "2024-01-01T00:00:00Z", body_html="<p>no one</p>")
    before = page_fingerprint(page, "c", "m", {})
    assert page_fingerprint(page, "c", "m", {"u1": "Dana"}) != before
    assert page_fingerprint(page, "c", "m", {"u9": "Sam"}) == before  # someone it does not mention
    assert page_fingerprint(plain, "c", "m", {"u1": "Dana"}) == page_fingerprint(plain, "c", "m")
