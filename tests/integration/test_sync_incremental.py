"""A long-running Ingester (the sync loop's) looks at changed pages only after its first pass, and still
ends where a clean ingest ends: an edit, a restriction change (no new version), a new comment, a move,
a trash and a create, all in one poll; a no-change poll looks at no page at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingest.index.embed import FakeEmbedder
from ingest.pipeline import Ingester, ingest
from ingest.storage.ledger import Ledger
from tests.helpers import kb_settings, snapshot


def _pages(settings: Any) -> dict[str, tuple[Any, ...]]:
    with Ledger(settings.data_dir, readonly=True) as ledger:
        return {r[0]: tuple(r[1:]) for r in ledger.conn.execute(
            "SELECT id, version, status, acl, ancestors, indexed_hash FROM pages WHERE status = 'current'")}


def test_later_passes_look_at_changed_pages_only_and_end_like_a_clean_ingest(emulator_factory: Any,
                                                                             tmp_path: Path) -> None:
    emu = emulator_factory(sample=False, pages=12, seed=8)
    settings = kb_settings(emu, tmp_path / "sync")
    ingester = Ingester(settings, embedder=FakeEmbedder())
    first = ingester.run().index
    assert first.pages_new == 12
    again = ingester.run().index
    looked = again.pages_new + again.pages_changed + again.pages_unchanged + again.pages_moved
    assert looked == 0 and again.chunks_embedded == 0, again

    before = _pages(settings)
    ids = sorted(before)
    emu.admin.clock(advance_minutes=5)
    emu.admin.edit(ids[0], body="<p>The incremental narwhal is edited.</p>")
    emu.admin.set_restrictions(ids[1], groups=["confluence-users"])  # no new version
    emu.admin.create({"type": "comment", "parent_id": ids[2], "location": "footer",
                      "body": "<p>A footer comment about the narwhal.</p>"})
    emu.admin.edit(ids[3], parent_id=ids[4])  # a move under another page
    emu.admin.trash(ids[5])
    created = emu.admin.create({"type": "page", "space": emu.admin.get(ids[0])["space"],
                                "title": "Narwhal runbook", "body": "<p>The narwhal runbook.</p>"})
    poll = ingester.run().index
    looked = poll.pages_new + poll.pages_changed + poll.pages_unchanged + poll.pages_moved
    assert poll.pages_new == 1 and poll.pages_deleted == 1 and looked < 12, poll

    clean = kb_settings(emu, tmp_path / "clean")
    ingest(clean, embedder=FakeEmbedder())
    assert _pages(settings) == _pages(clean)  # the trashed page is a tombstone here, unknown there
    after = _pages(settings)
    assert after[ids[1]][2] != before[ids[1]][2] and after[ids[1]][0] == before[ids[1]][0]  # acl, not version
    assert after[ids[3]][3] != before[ids[3]][3]  # moved: its ancestors
    assert created in _pages(settings) and ids[5] not in _pages(settings)
    mine, theirs = snapshot(settings, FakeEmbedder()), snapshot(clean, FakeEmbedder())
    assert mine["rows"] == theirs["rows"]
    assert mine["chroma"] == theirs["chroma"]

    # The signatures the pass left (only the looked-at pages read again): a quiet poll looks at none,
    # and the next edit is looked at again.
    quiet = ingester.run().index
    assert quiet.pages_new + quiet.pages_changed + quiet.pages_unchanged + quiet.pages_moved == 0, quiet
    emu.admin.clock(advance_minutes=5)
    emu.admin.edit(ids[0], body="<p>The incremental narwhal is edited twice.</p>")
    second = ingester.run().index
    assert second.pages_changed == 1 and second.pages_unchanged + second.pages_new == 0, second
