"""Per-page replace, vector reuse and tombstones, on a real Chroma (tmp dir) with the fake embedder.

The cleaner and chunker here are tiny stand-ins (one chunk per <p>), so these tests pin the index's
own behaviour; the pipeline tests run the real clean and chunk through the emulator.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.config import Settings, load_settings
from ingest.index.gate import open_store
from ingest.records import Ancestor, Page
from tests.helpers import KB, page


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return load_settings(data={"dir": str(tmp_path / "kb")}, embed={"batch_size": 4})


@pytest.fixture()
def kb(settings: Settings) -> KB:
    return KB(settings)


def test_index_then_no_change_embeds_nothing(kb: KB) -> None:
    kb.put(page("1", ["alpha one", "alpha two"]), page("2", ["beta one"]), page("3", []))
    first = kb.run()
    assert (first.pages_new, first.chunks_embedded, first.chunks_written) == (3, 3, 3)
    assert kb.store.count() == len(kb.chunk_rows()) == 3
    meta = {cid: m for cid, _, m in kb.store.iter_all()}
    assert meta["1:1"]["title"] == "Page 1" and meta["1:1"]["labels"] == ",howto,"
    assert meta["1:1"]["read_groups"] == "staff" and meta["1:1"]["text_hash"] == kb.chunk_rows()["1:1"][0]
    assert {"page_id", "kind", "space_key", "space_name", "url", "heading_path", "version", "updated_at",
            "updated_ts", "model_id", "read_users"} <= set(meta["2:0"])
    again = kb.run()
    assert (again.pages_unchanged, again.chunks_embedded, again.chunks_written) == (3, 0, 0)


def test_one_paragraph_edit_reembeds_only_its_chunk(kb: KB) -> None:
    kb.put(page("1", ["keep a", "edit me", "keep c"]))
    kb.run()
    before = kb.store.get_vectors(["1:0", "1:2"])
    kb.put(page("1", ["keep a", "edited now", "keep c"], version=2))
    rep = kb.run()
    assert (rep.pages_changed, rep.chunks_embedded, rep.chunks_reused) == (1, 1, 2)
    assert set(kb.chunk_rows()) == {"1:0", "1:1", "1:2"} and kb.chunk_rows()["1:1"][1] == "edited now"
    after = kb.store.get_vectors(["1:0", "1:2"])
    assert all((before[c] == after[c]).all() for c in before)
    assert {m["version"] for _, _, m in kb.store.iter_all()} == {2}
    assert kb.fts("edited") == ["1:1"] and kb.fts("edit") == ["1:1"]  # porter stems; old text gone


def test_shrinking_page_deletes_stale_ids(kb: KB) -> None:
    kb.put(page("1", ["a a", "b b", "c c"]))
    kb.run()
    kb.put(page("1", ["a a"], version=2))
    rep = kb.run()
    assert rep.chunks_deleted == 2 and rep.chunks_embedded == 0
    assert {c for c, _, _ in kb.store.iter_all()} == set(kb.chunk_rows()) == {"1:0"}


def test_trash_and_purge_remove_chunks_everywhere(kb: KB) -> None:
    kb.put(page("1", ["gamma words"]), page("2", ["delta words", "more delta"]), page("3", ["kept"]))
    kb.run()
    kb.put(page("1", ["gamma words"], status="trashed"), page("2", ["delta words"], status="deleted"))
    rep = kb.run()
    assert rep.pages_deleted == 2 and rep.chunks_deleted == 3
    assert {c for c, _, _ in kb.store.iter_all()} == set(kb.chunk_rows()) == {"3:0"}
    assert kb.fts("gamma") == [] and kb.fts("delta") == []
    assert kb.run().pages_deleted == 0  # tombstones are handled once
    kb.put(page("1", ["gamma words"], version=2))  # restored
    assert kb.run().pages_new == 1 and kb.fts("gamma") == ["1:0"]


def test_move_updates_metadata_and_headers(kb: KB) -> None:
    kb.put(page("1", ["moving text"]))
    kb.run()
    kb.put(page("1", ["moving text"], version=2, title="Renamed", ancestors=(Ancestor("9", "New parent"),)))
    rep = kb.run()
    assert rep.pages_moved == 1 and rep.chunks_embedded == 1  # the title is part of the embedded text
    (meta,) = [m for _, _, m in kb.store.iter_all()]
    assert meta["title"] == "Renamed"
    header = kb.ledger.conn.execute("SELECT header FROM chunks").fetchone()[0]
    assert header == "Engineering › New parent › Renamed"


def test_a_move_under_a_new_parent_keeps_its_vectors(kb: KB) -> None:
    kb.put(page("1", ["moving text"]))
    kb.run()
    kb.put(page("1", ["moving text"], version=2, ancestors=(Ancestor("9", "New parent"),)))
    rep = kb.run()  # the header changed, the embedded text (title + text) did not
    assert rep.pages_moved == 1 and rep.chunks_embedded == 0 and rep.chunks_reused == 1
    header = kb.ledger.conn.execute("SELECT header FROM chunks").fetchone()[0]
    assert header == "Engineering › New parent › Page 1"


def test_identical_text_elsewhere_reuses_vectors(kb: KB) -> None:
    kb.put(page("1", ["shared boilerplate"], title="Same"))
    kb.run()
    kb.put(page("2", ["shared boilerplate"], title="Same"))  # same header + text = same hash
    rep = kb.run()
    assert rep.pages_new == 1 and rep.chunks_embedded == 0 and rep.chunks_reused == 1


def test_a_page_that_fails_to_clean_is_reported_and_the_run_goes_on(kb: KB) -> None:
    kb.put(page("1", ["fine"]), Page(id="2", kind="page", space_key="ENG", title="Bad", url="u", version=1,
                                     updated_at="2026-01-01T00:00:00Z", body_html="<broken"))
    rep = kb.run()
    assert rep.pages_new == 1 and rep.pages_failed == 1
    assert rep.failures[0][0] == "2" and "cannot clean" in rep.failures[0][1]
    assert rep.to_dict()["failures"][0]["page_id"] == "2"


class CrashingSink:
    """Writes Chroma, then dies before the ledger transaction (a crash between steps 2 and 3)."""

    def replace(self, works: object) -> None:
        raise KeyboardInterrupt("crash before the ledger commit")


def test_crash_between_chroma_and_ledger_is_redone(kb: KB, settings: Settings, tmp_path: Path) -> None:
    kb.put(page("1", ["one", "two", "three"]), page("2", ["other"]))
    kb.run()
    kb.put(page("1", ["one"], version=2), page("2", ["other changed"], version=2))
    with pytest.raises(KeyboardInterrupt):
        kb.run(sink=CrashingSink())
    assert kb.ledger.conn.execute("SELECT max(indexed_version) FROM pages").fetchone()[0] == 1
    rep = kb.run()
    assert rep.pages_changed == 2
    clean = KB(load_settings(data={"dir": str(tmp_path / "clean")}))
    clean.put(page("1", ["one"], version=2), page("2", ["other changed"], version=2))
    clean.run()
    assert kb.chunk_rows() == clean.chunk_rows()
    mine = {c: (v.tolist(), m) for c, v, m in kb.store.iter_all(vectors=True)}
    theirs = {c: (v.tolist(), m) for c, v, m in clean.store.iter_all(vectors=True)}
    assert mine.keys() == theirs.keys() and all(mine[c][1] == theirs[c][1] for c in mine)
    assert all(mine[c][0] == pytest.approx(theirs[c][0], abs=1e-6) for c in mine)


def test_orphans_in_chroma_are_removed(kb: KB) -> None:
    kb.put(page("1", ["x y"]))
    kb.run()
    kb.store.upsert(["1:7"], kb.embedder.embed_documents(["orphan"]), [{"page_id": "1", "text_hash": "h"}])
    kb.put(page("1", ["x y z"], version=2))
    kb.run()
    assert {c for c, _, _ in kb.store.iter_all()} == {"1:0"}


def test_stale_vector_under_a_reused_id_is_not_trusted(kb: KB) -> None:
    kb.put(page("1", ["first text"]))
    kb.run()
    # Chroma holds 1:0 with another text's vector (a crash after upsert); the ledger still says the old hash.
    kb.store.upsert(["1:0"], kb.embedder.embed_documents(["something else"]),
                    [{"page_id": "1", "text_hash": "not-the-ledger-hash"}])
    kb.put(page("1", ["first text"], version=2))
    rep = kb.run()
    assert rep.chunks_embedded == 1 and rep.chunks_reused == 0


def test_lost_chroma_dir_is_rebuilt_by_the_next_index(settings: Settings) -> None:
    from ingest.pipeline import index
    from ingest.storage.vectors import ACTIVE_KEY, drop_collection, make_client

    kb = KB(settings)
    kb.put(page("1", ["a paragraph about rotating keys"]), page("2", ["another about backups"]))
    first = index(settings, embedder=kb.embedder)
    assert first.pages_new == 2
    drop_collection(make_client(settings), settings.chroma.collection)  # Chroma's data is gone
    with kb.ledger.tx():
        kb.ledger.conn.execute("DELETE FROM meta WHERE key = ?", (ACTIVE_KEY,))
    again = index(settings, embedder=kb.embedder)
    assert again.chunks_written == first.chunks_written and again.chunks_embedded == first.chunks_written
    assert open_store(settings, kb.embedder).count() == len(kb.chunk_rows())
