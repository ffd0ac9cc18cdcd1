"""A long-running Ingester (the sync loop's) looks at changed pages only after its first pass, and still
ends where a clean ingest ends: an edit, a restriction change (no new version), a new comment, a move,
a trash and a create, all in one poll; a no-change poll looks at no page at all, nor does a sweep that
marks every page seen; each change kind, one poll each, is looked at in that poll."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingest.config import load_settings
from ingest.index.embed import FakeEmbedder
from ingest.index.indexer import IndexReport
from ingest.pipeline import Ingester, ingest
from ingest.storage.ledger import Ledger
from tests.helpers import kb_settings, snapshot
from tools.sample_space.files import attachment_item


def _pages(settings: Any) -> dict[str, tuple[Any, ...]]:
    with Ledger(settings.data_dir, readonly=True) as ledger:
        return {r[0]: tuple(r[1:]) for r in ledger.conn.execute(
            "SELECT id, version, status, acl, ancestors, indexed_hash FROM pages WHERE status = 'current'")}


def _looked(report: IndexReport) -> int:
    return report.pages_new + report.pages_changed + report.pages_unchanged + report.pages_moved


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

    # The pass's own writes (fingerprints) are behind its mark: a quiet poll looks at none, and the
    # next edit is looked at again.
    quiet = ingester.run().index
    assert quiet.pages_new + quiet.pages_changed + quiet.pages_unchanged + quiet.pages_moved == 0, quiet
    emu.admin.clock(advance_minutes=5)
    emu.admin.edit(ids[0], body="<p>The incremental narwhal is edited twice.</p>")
    second = ingester.run().index
    assert second.pages_changed == 1 and second.pages_unchanged + second.pages_new == 0, second


def test_a_sweep_touches_no_page_and_each_change_kind_is_looked_at_in_its_poll(emulator_factory: Any,
                                                                               tmp_path: Path) -> None:
    emu = emulator_factory(sample=False, pages=12, seed=9)
    settings = load_settings(confluence=emu.confluence_settings(), data={"dir": str(tmp_path / "sync")},
                             pull={"sweep_every": 1})  # every poll sweeps: marks every page seen
    ingester = Ingester(settings, embedder=FakeEmbedder())
    assert ingester.run().index.pages_new == 12
    quiet = ingester.run()
    assert quiet.pull.swept and _looked(quiet.index) == 0, (quiet.pull.swept, quiet.index)

    ids = sorted(_pages(settings))
    space = emu.admin.get(ids[0])["space"]
    with Ledger(settings.data_dir, readonly=True) as ledger:  # a known user: a new one changes the
        author = sorted(ledger.users())[0]  # known user names, which looks at every page (mentions)
    changes = {
        "restriction": lambda: emu.admin.set_restrictions(ids[1], groups=["confluence-users"]),
        "comment": lambda: emu.admin.create({"type": "comment", "parent_id": ids[2], "location": "footer",
                                             "author": author, "body": "<p>A comment on the walrus.</p>"}),
        "move": lambda: emu.admin.edit(ids[3], parent_id=ids[4]),
        "edit": lambda: emu.admin.edit(ids[0], body="<p>The incremental walrus is edited.</p>"),
        "attachment": lambda: emu.admin.create(attachment_item("att77001", ids[6], space, "walrus.txt",
                                                               b"The walrus note.", author=author)),
    }
    for kind, change in changes.items():
        emu.admin.clock(advance_minutes=5)
        change()
        poll = ingester.run()
        assert poll.pull.swept, kind
        index = poll.index
        assert 1 <= _looked(index) <= 3 and index.pages_new + index.pages_changed + index.pages_moved >= 1, \
            (kind, index)
        again = ingester.run().index
        assert _looked(again) == 0, (kind, again)

    clean = kb_settings(emu, tmp_path / "clean")
    ingest(clean, embedder=FakeEmbedder())
    assert _pages(settings) == _pages(clean)
    assert "att77001" in _pages(settings)
    mine, theirs = snapshot(settings, FakeEmbedder()), snapshot(clean, FakeEmbedder())
    assert mine["rows"] == theirs["rows"]
    assert mine["chroma"] == theirs["chroma"]


def test_the_sync_loops_ingester_settles_the_heap_after_a_full_pass_only(
        emulator_factory: Any, tmp_path: Path, monkeypatch: Any) -> None:
    """gc.freeze after a full index pass: later full collections skip the long-lived heap (one quiet
    poll in six paid 0.64 CPU s for one at 20,000 pages); a partial pass does not settle again, and a
    plain Ingester (kb ingest, the Python API) never does."""
    import gc

    from ingest import heap
    from ingest.sync.loop import SyncLoop

    settled: list[int] = []
    real = heap.settle
    monkeypatch.setattr(heap, "settle", lambda: settled.append(1) or real())
    monkeypatch.setattr(heap, "_settled", False)  # put back after the test: later pulls unfreeze
    emu = emulator_factory(sample=False, pages=4, seed=3)
    try:
        Ingester(kb_settings(emu, tmp_path / "plain"), embedder=FakeEmbedder()).run()
        assert settled == []
        loop = SyncLoop(kb_settings(emu, tmp_path / "sync"), embedder=FakeEmbedder())
        assert loop.ingester.settle_heap
        loop.ingester.run()
        assert settled == [1] and gc.get_freeze_count() > 0
        quiet = loop.ingester.run().index
        assert quiet.pages_new + quiet.pages_changed + quiet.pages_unchanged == 0
        assert settled == [1]  # a partial pass: no second collection
        loop.ingester.run(full=True)
        assert settled == [1, 1]
    finally:
        gc.unfreeze()
