"""Access changes bump no version in Confluence; each must still show up after the next pull,
as a metadata update: 0 chunks embedded. Restrictions (added and removed, inherited by children),
space permissions and group members, against both modes of the emulator (Cloud and Data Center,
where people are named by username), through PyAirbyte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ingest.config import Settings, load_settings
from ingest.index.embed import FakeEmbedder
from ingest.pipeline import ingest
from retrieval.query.searcher import Searcher

ITEMS = [
    {"id": "81001", "type": "page", "space": "OPS", "title": "Quokka failover drill",
     "body": "<p>The quokka failover drill runs monthly.</p>"},
    {"id": "81002", "type": "page", "space": "OPS", "title": "Quokka drill checklist", "parent_id": "81001",
     "body": "<p>Checklist for the quokka drill: drain, fail over, verify.</p>"},
    {"id": "81003", "type": "page", "space": "OPS", "title": "Wombat vault keys",
     "body": "<p>The wombat vault keys rotate weekly.</p>", "restrictions": {"users": [], "groups": ["sec"]}},
]
USERS = [{"accountId": "acc-bob", "displayName": "Bob", "email": "bob@chg.test"},
         {"accountId": "acc-sec", "displayName": "Sec", "email": "sec@chg.test"}]
GROUPS = [{"name": "confluence-users", "members": ["acc-bob", "acc-sec"]},
          {"name": "sec", "members": ["acc-sec"]}]
SPACES = [{"key": "OPS", "name": "Ops", "permissions": {"users": [], "groups": ["confluence-users"]}}]


@pytest.fixture
def site(emulator_factory: Any, deployment: dict[str, Any], tmp_path: Path) -> tuple[Any, Settings]:
    emu = emulator_factory(ITEMS, users=USERS, groups=GROUPS, spaces=SPACES, **deployment)
    settings = load_settings(confluence=emu.confluence_settings(), data={"dir": str(tmp_path / "kb")})
    first = ingest(settings, embedder=FakeEmbedder())
    assert first.index.chunks_embedded > 0 and first.pull.access["unresolved"] == 0
    return emu, settings


def seen(site: tuple[Any, Settings], email: str, query: str) -> set[str]:
    """The pages `query` finds for `who` lexically; the dense side (Chroma's copy of each page's
    class, updated without embedding) must agree: with k above the page count it returns every
    page `who` may view, so it must hold exactly what the ledger lets them see."""
    emu, settings = site
    who = emu.login(email)
    searcher = Searcher(settings, embedder=FakeEmbedder())
    try:
        found = {h.page_id for h in searcher.search(query, k=10, principal=who, mode="lexical")}
        dense = {h.page_id for h in searcher.search(query, k=10, principal=who, mode="dense")}
        everything = {h.page_id for h in searcher.search("quokka wombat", k=10, principal=who,
                                                          mode="lexical")}
        assert dense == everything, (dense, everything)
        return found
    finally:
        searcher.close()


def again(settings: Settings) -> None:
    report = ingest(settings, embedder=FakeEmbedder())
    assert report.index.chunks_embedded == 0, report.to_dict()
    assert report.pull.changed == 0 and report.pull.new == 0  # Confluence bumped no version


def test_a_restriction_added_then_removed_hides_then_shows_the_subtree(site: tuple[Any, Settings]) -> None:
    emu, settings = site
    assert seen(site, "bob@chg.test", "quokka drill") == {"81001", "81002"}
    version = emu.admin.get("81001")["version"]
    emu.admin.set_restrictions("81001", groups=["sec"])
    assert emu.admin.get("81001")["version"] == version
    again(settings)
    assert seen(site, "bob@chg.test", "quokka drill") == set()  # the child inherits it
    assert seen(site, "sec@chg.test", "quokka drill") == {"81001", "81002"}
    emu.admin.set_restrictions("81001")
    again(settings)
    assert seen(site, "bob@chg.test", "quokka drill") == {"81001", "81002"}


def test_a_group_member_added_then_removed(site: tuple[Any, Settings]) -> None:
    emu, settings = site
    assert seen(site, "bob@chg.test", "wombat vault keys") == set()
    emu.admin.add_member("sec", "acc-bob")
    again(settings)
    assert seen(site, "bob@chg.test", "wombat vault keys") == {"81003"}
    emu.admin.remove_member("sec", "acc-bob")
    again(settings)
    assert seen(site, "bob@chg.test", "wombat vault keys") == set()


def test_a_space_permission_removed_then_given_to_one_user(site: tuple[Any, Settings]) -> None:
    emu, settings = site
    emu.admin.set_space_permissions("OPS", groups=["sec"])
    again(settings)
    assert seen(site, "bob@chg.test", "quokka drill") == set()
    assert seen(site, "sec@chg.test", "quokka drill") == {"81001", "81002"}
    emu.admin.set_space_permissions("OPS", users=["acc-bob"])
    again(settings)
    assert seen(site, "bob@chg.test", "quokka drill") == {"81001", "81002"}
    assert seen(site, "sec@chg.test", "wombat vault keys") == set()  # the space lets sec in no more
    emu.admin.set_space_permissions("OPS", anonymous=True)
    again(settings)
    assert seen(site, "anonymous", "quokka drill") == {"81001", "81002"}
    assert seen(site, "anonymous", "wombat vault keys") == set()


def test_unreadable_group_listings_fail_closed_not_the_pull(site: tuple[Any, Settings]) -> None:
    """Before: a 403 on a group's member listing (an account without "browse users and groups")
    failed the whole pull. Now those groups count as empty: what they grant is hidden, the report
    says so, and the next readable listing gives it back."""
    emu, settings = site
    assert seen(site, "sec@chg.test", "wombat vault keys") == {"81003"}
    emu.admin.faults("*/group/*", "403")  # every group's members (the listing of groups answers)
    report = ingest(settings, embedder=FakeEmbedder())
    assert report.pull.access["groups_unreadable"] >= 1
    assert any("refused (403)" in note for note in report.pull.notes)
    assert seen(site, "sec@chg.test", "wombat vault keys") == set()  # sec's membership is not known
    emu.admin.clear_faults()
    again(settings)
    assert seen(site, "sec@chg.test", "wombat vault keys") == {"81003"}
