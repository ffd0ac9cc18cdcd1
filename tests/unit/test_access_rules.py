"""Confluence's view rule over a ledger: space AND own restriction AND every restricted ancestor."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.access.rules import ANONYMOUS, SpaceRule
from ingest.records import Ancestor, Page
from ingest.storage.access import LedgerAccess
from ingest.storage.ledger import Ledger

A, B, C, D = "acc-alice", "acc-bob", "acc-carol", "acc-dave"


def _page(pid: str, space: str, *, parents: tuple[str, ...] = (), users: tuple[str, ...] = (),
          groups: tuple[str, ...] = ()) -> Page:
    return Page(id=pid, kind="page", space_key=space, title=f"T{pid}", url=f"u/{pid}", version=1,
                updated_at="2024-01-01T00:00:00Z", ancestors=tuple(Ancestor(p, f"T{p}") for p in parents),
                read_users=users, read_groups=groups)


PAGES = [
    _page("1", "PUB"),
    _page("2", "PUB", users=(B,)),
    _page("3", "PUB", groups=("sec",)),
    _page("4", "PUB", parents=("3",)),                      # restricted parent
    _page("5", "PUB", parents=("3", "4")),                  # restricted grandparent, open parent
    _page("6", "PUB", groups=("sec",)),
    _page("7", "PUB", parents=("6",), users=(B,)),          # two restrictions: both must hold
    _page("8", "PRIV"),
    _page("9", "PUB", parents=("404",)),                    # ancestor unknown: unresolved
    _page("10", "GONE"),                                    # space without permissions: unresolved
    _page("11", "PUB", users=(A,), groups=("hr",)),         # user OR group
]
EXPECTED = {  # who may see which page
    A: {"1", "3", "4", "5", "6", "11"},
    B: {"1", "2"},
    C: {"1", "8", "11"},
    D: set(),              # known, but in no group: no space lets him in
    "anonymous": set(),
}


@pytest.fixture
def access(tmp_path: Path) -> LedgerAccess:
    ledger = Ledger(tmp_path)
    with ledger.tx():
        for page in PAGES:
            ledger.upsert_page(page, None)
        la = LedgerAccess(ledger)
        la.replace_space_rules([SpaceRule("PUB", groups=frozenset({"confluence-users"})),
                                SpaceRule("PRIV", users=frozenset({C}), groups=frozenset({"hr"}))])
        la.replace_members({"confluence-users": [A, B, C], "sec": [A], "hr": [C]})
        la.upsert_principals([(A, "alice@x.test", "Alice"), (B, "bob@x.test", "Bob"),
                              (C, "carol@x.test", "Carol"), (D, "dave@x.test", "Dave")])
        la.recompute()
    return la


def _visible(la: LedgerAccess, who: str) -> set[str]:
    principal = la.principal(who)
    acls = set(la.visible_acls(principal))
    return {p.id for p in la.ledger.iter_pages() if p.acl in acls}


@pytest.mark.parametrize("who", [A, B, C, D, "anonymous"])
def test_each_user_sees_exactly_what_confluence_allows(access: LedgerAccess, who: str) -> None:
    assert _visible(access, who) == EXPECTED[who]
    for page in PAGES:  # the explanation agrees with the filter, page by page
        found = access.explain(page.id, access.principal(who))
        assert found is not None
        assert found.allowed == (page.id in EXPECTED[who]), (who, page.id, found.lines())


def test_emails_resolve_case_insensitively_and_unknown_people_are_anonymous(access: LedgerAccess) -> None:
    assert access.principal("ALICE@x.test").account_id == A
    assert access.principal("ALICE@x.test").groups == {"confluence-users", "sec"}
    stranger = access.principal("mallory@evil.test")
    assert stranger.account_id is None and not stranger.known
    assert _visible(access, "mallory@evil.test") == set()


def test_anonymous_access_opens_unrestricted_pages_only(access: LedgerAccess) -> None:
    with access.ledger.tx():
        access.replace_space_rules([SpaceRule("PUB", groups=frozenset({"confluence-users"}), anonymous=True)])
        access.recompute()
    assert _visible(access, "anonymous") == {"1"}  # 4 and 5 sit under a restricted page
    assert _visible(access, D) == {"1"}


def test_unresolved_pages_are_reported_and_hidden(access: LedgerAccess) -> None:
    with access.ledger.tx():
        result = access.recompute()
    assert {pid for pid, _ in result.unresolved} == {"9", "10"}
    assert result.changed == 0  # recompute is idempotent
    for who in (A, B, C):
        assert not {"9", "10"} & _visible(access, who)
    why = access.explain("9", access.principal(A))
    assert why is not None and not why.allowed and "ancestor" in " ".join(why.lines())


def test_a_restriction_change_reclassifies_the_subtree_only(access: LedgerAccess) -> None:
    before = {p.id: p.acl for p in access.ledger.iter_pages()}
    with access.ledger.tx():
        assert access.set_restrictions({"3": ((), ())}) == 1
        result = access.recompute()
    after = {p.id: p.acl for p in access.ledger.iter_pages()}
    assert {pid for pid in before if before[pid] != after[pid]} == {"3", "4", "5"}
    assert result.changed == 3
    assert {"3", "4", "5"} <= _visible(access, B)


def test_membership_and_space_changes_change_no_class(access: LedgerAccess) -> None:
    before = {p.id: p.acl for p in access.ledger.iter_pages()}
    with access.ledger.tx():
        access.replace_members({"confluence-users": [A, B, C, D], "sec": [A, B], "hr": [C]})
        result = access.recompute()
    assert result.changed == 0 and before == {p.id: p.acl for p in access.ledger.iter_pages()}
    assert _visible(access, B) == {"1", "2", "3", "4", "5", "6", "7"}
    assert _visible(access, D) == {"1"}


def test_the_anonymous_principal_describes_itself() -> None:
    assert ANONYMOUS.describe() == "anonymous"


def test_a_quiet_run_keeps_the_classes_and_any_page_write_recomputes(access: LedgerAccess) -> None:
    ledger = access.ledger
    with ledger.tx():
        quiet = ledger.start_run("pull")
    kept = access.standing(quiet)
    assert kept is not None and kept.changed == 0
    assert {pid for pid, _ in kept.unresolved} == {"9", "10"}  # as recompute reported them
    with ledger.tx():
        busy = ledger.start_run("pull")
        ledger.upsert_page(_page("12", "PUB", parents=("3",)), busy)
    assert access.standing(busy) is None  # a page written: its class must be derived
    assert access.standing(None) is None
    with ledger.tx():
        access.recompute()
        ledger.conn.execute("DELETE FROM pages WHERE id = '3'")  # rows are never deleted today; if
    assert access.standing(quiet) is None                       # one is, children lose an ancestor


def test_recompute_gives_every_page_the_class_the_page_by_page_rule_gives(tmp_path: Path) -> None:
    """`recompute` shares work between pages (each restriction decoded once, each class built once):
    over a random site (nested trees, restrictions repeated and unsorted, unknown ancestors, a space
    without rules, trashed pages) every page gets the class `_class_of` gives it alone."""
    import random

    rng = random.Random(7)
    people, groups = [A, B, C, D], ["sec", "hr", "eng", "ops"]
    pages: list[Page] = []
    for n in range(400):
        space = rng.choice(["PUB", "PUB", "PRIV", "GONE"])
        mine = [p for p in pages if p.space_key == space]
        parent = rng.choice(mine) if mine and rng.random() < 0.8 else None
        chain = (*(a.id for a in parent.ancestors), parent.id) if parent else ()
        if rng.random() < 0.03:
            chain = ("missing-404", *chain)
        users = tuple(rng.sample(people, rng.randint(1, 2))) if rng.random() < 0.2 else ()
        grps = tuple(rng.sample(groups, rng.randint(1, 3))) if rng.random() < 0.2 else ()
        pages.append(_page(str(n), space, parents=chain, users=users, groups=grps))
    ledger = Ledger(tmp_path)
    with ledger.tx():
        for page in pages:
            ledger.upsert_page(page, None)
        for page in pages[::17]:
            ledger.set_page_status(page.id, "trashed", None)
        la = LedgerAccess(ledger)
        la.replace_space_rules([SpaceRule("PUB", groups=frozenset({"confluence-users"})),
                                SpaceRule("PRIV", users=frozenset({C}))])
        result = la.recompute()
    rows = ledger.conn.execute("SELECT id, kind, space_key, title, ancestors, read_users, read_groups, acl, "
                               "status FROM pages").fetchall()
    by_id = {r["id"]: r for r in rows}
    spaces = set(la.space_rules())
    expected = {r["id"]: la._class_of(r, by_id, spaces) for r in rows}
    assert {r["id"]: r["acl"] for r in rows} == {pid: c.acl for pid, c in expected.items()}
    stored = {c.acl: c for c in la.classes()}
    assert stored == {c.acl: c for c in expected.values()}
    assert sorted(result.unresolved) == sorted((pid, c.unresolved) for pid, c in expected.items()
                                               if c.unresolved and by_id[pid]["status"] == "current")
    assert len({c.acl for c in expected.values()}) > 10  # the site is varied enough to say something
