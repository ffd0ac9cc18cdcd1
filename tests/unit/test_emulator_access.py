"""The emulator's access model: the view rule (can_view), v1 shapes of permissions, groups, members and
restrictions checked against the OpenAPI schemas, paging of members, and changes without version bumps."""

from __future__ import annotations

import json
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from emulator import access
from emulator.access import can_view
from emulator.api import Site
from emulator.render import group_id
from emulator.store import SpacePerm, Store
from tests.helpers import shared_path

BASE = "https://127.0.0.1:1/wiki"
USERS = [{"accountId": f"acc-{n}", "displayName": n.upper(), "email": f"{n}@corvid.example"}
         for n in "abcdefg"]
GROUPS = [{"name": "sec", "members": ["acc-a", "acc-b"]}, {"name": "hr", "members": ["acc-c"]},
          {"name": "big", "members": [f"acc-{n}" for n in "abcde"]}]
SPACES = [{"key": "PUB", "name": "Public"},  # no permissions: every group reads, not anonymous
          {"key": "PRIV", "name": "Private", "permissions": {"users": ["acc-d"], "groups": ["hr"]}},
          {"key": "OPEN", "name": "Open", "permissions": {"groups": ["confluence-users"], "anonymous": True}}]


def page(pid: str, space: str = "PUB", parent: str | None = None,
         **restrictions: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": pid, "type": "page", "space": space, "title": f"Page {pid}",
                           "body": f"<p>{pid}</p>", "updated": "2024-01-01T00:00:00Z"}
    if parent:
        out["parent_id"] = parent
    if restrictions:
        out["restrictions"] = restrictions
    return out


ITEMS = [page("1"), page("2", parent="1", groups=["sec"]), page("3", parent="2"), page("4", parent="3"),
         page("5", parent="1", users=["acc-e", "acc-a"]), page("6", parent="5", groups=["sec"]),
         page("10", "PRIV"), page("11", "PRIV", parent="10"),
         page("20", "OPEN"), page("21", "OPEN", parent="20", groups=["sec"]),
         {"id": "30", "type": "blogpost", "space": "PUB", "title": "Post", "body": "<p>b</p>"}]


@pytest.fixture
def store() -> Store:
    return Store.build(ITEMS, SPACES, USERS, groups=GROUPS)


@pytest.fixture
def site(store: Store) -> Site:
    return Site(store, BASE, "a@corvid.example")


def get(site: Site, path: str, **query: str) -> Any:
    reply = site.route("GET", "/wiki/rest/api" + path, {k: [v] for k, v in query.items()})
    assert reply.status == 200, (path, reply.payload)
    return json.loads(reply.body())


# ---- the view rule -----------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "pid", "allowed"), [
    ("acc-a", "1", True),     # space via confluence-users (every user by default)
    (None, "1", False),       # no anonymous access on a space without permissions
    ("acc-zz", "1", False),   # an unknown account is in no group
    ("acc-c", "10", True),    # private space via its group
    ("acc-d", "10", True),    # private space via a listed user
    ("acc-a", "11", False),   # not in the private space's group or users
    (None, "20", True),       # anonymous access on
    (None, "21", False),      # anonymous satisfies no restriction
    ("acc-a", "21", True),
    ("acc-a", "2", True),     # own restriction by group
    ("acc-c", "2", False),
    ("acc-e", "5", True),     # own restriction by user
    ("acc-b", "5", False),
    ("acc-a", "3", True),     # restricted parent
    ("acc-c", "3", False),
    ("acc-a", "4", True),     # restricted grandparent, unrestricted parent
    ("acc-c", "4", False),
    ("acc-a", "6", True),     # every restriction on the chain: 5 by user, 6 by group
    ("acc-e", "6", False),    # passes 5, fails 6
    ("acc-b", "6", False),    # passes 6 (the nearest), fails 5
    ("acc-f", "30", True),    # a blog post: the space rule alone
])
def test_can_view_truth_table(store: Store, who: str | None, pid: str, allowed: bool) -> None:
    assert can_view(store, who, pid) is allowed
    assert can_view(store, who, store.get(pid)) is allowed


def test_decision_names_the_space_rule_and_each_restriction_on_the_chain(store: Store) -> None:
    decision = access.decide(store, "acc-e", "6")
    assert decision.space is True and decision.allowed is False
    assert decision.chain == [("5", True), ("6", False)]


def test_defaults_keep_corpora_without_access_data_as_they_were() -> None:
    plain = Store.build([page("1", groups=["eng"])], [{"key": "PUB", "name": "P"}], USERS)
    assert plain.members_of("confluence-users") == [u["accountId"] for u in USERS]
    assert plain.members_of("eng") == [] and plain.members_of("administrators") == []
    perm = access.effective_perm(plain, plain.spaces["PUB"])
    assert perm.groups == tuple(plain.groups) and perm.users == ("acc-a",) and perm.anonymous is False
    assert not can_view(plain, "acc-b", "1") and can_view(plain, None, "1") is False


# ---- shapes against the OpenAPI schemas --------------------------------------------------------

@cache
def schemas() -> dict[str, Any]:
    spec = json.loads(shared_path("data", "confluence", "rest_api", "v1", "openapi",
                                  "confluence_rest_v1_openapi.json").read_text(encoding="utf-8"))
    return spec["components"]["schemas"]


def conforms(value: Any, schema: dict[str, Any], where: str = "$", depth: int = 0) -> list[str]:
    """Required keys (recursively, $ref resolved) and types of object/array/bool/int/str nodes."""
    if "$ref" in schema:
        schema = schemas()[schema["$ref"].rsplit("/", 1)[-1]]
    if value is None or depth > 6:
        return [] if value is None and (schema.get("nullable") or depth > 6) else [f"{where}: null"]
    kind = schema.get("type")
    checks = {"object": dict, "array": list, "boolean": bool, "string": str, "integer": int}
    if kind in checks and not isinstance(value, checks[kind]):
        return [f"{where}: {type(value).__name__} is not {kind}"]
    problems = [f"{where}: missing {key}" for key in schema.get("required", [])
                if isinstance(value, dict) and key not in value]
    if isinstance(value, dict):
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                problems += conforms(value[key], sub, f"{where}.{key}", depth + 1)
    if isinstance(value, list) and "items" in schema:
        for n, row in enumerate(value):
            problems += conforms(row, schema["items"], f"{where}[{n}]", depth + 1)
    return problems


def test_space_permissions_shape_and_content(site: Site) -> None:
    spaces = {s["key"]: s for s in get(site, "/space", expand="permissions")["results"]}
    one = get(site, "/space/PRIV", expand="permissions")
    assert one["permissions"] == spaces["PRIV"]["permissions"]
    for space in spaces.values():
        for perm in space["permissions"]:
            assert not conforms(perm, schemas()["SpacePermission"]), perm
    read_space = {"operation": "read", "targetType": "space"}
    reads = {key: [p for p in s["permissions"] if p["operation"] == read_space] for key, s in spaces.items()}
    priv = reads["PRIV"]
    assert [p["subjects"]["user"]["results"][0]["accountId"]
            for p in priv if "user" in p["subjects"]] == ["acc-d"]
    assert [p["subjects"]["group"]["results"][0]["name"] for p in priv if "group" in p["subjects"]] == ["hr"]
    assert not any(p["anonymousAccess"] for p in priv)
    anonymous = [p for p in reads["OPEN"] if p["anonymousAccess"]]
    assert len(anonymous) == 1 and "user" not in anonymous[0]["subjects"]
    assert "group" not in anonymous[0]["subjects"]
    pub_groups = {p["subjects"]["group"]["results"][0]["name"]
                  for p in reads["PUB"] if "group" in p["subjects"]}
    assert pub_groups == set(site.store.groups)
    targets = {p["operation"]["targetType"] for p in spaces["PRIV"]["permissions"]}
    assert targets >= {"page", "blogpost", "space"}


def test_groups_listing_shape_and_paging(site: Site) -> None:
    first = get(site, "/group", limit="2")
    assert not conforms(first, schemas()["GroupArrayWithLinks"])
    assert first["size"] == 2 and first["limit"] == 2 and "next" in first["_links"]
    names = [g["name"] for g in get(site, "/group")["results"]]
    assert names == sorted(site.store.groups) and {"sec", "hr", "big"} <= set(names)
    assert get(site, "/group")["limit"] == 200


def follow(site: Site, link: str) -> Any:
    parts = urlsplit(link)
    reply = site.route("GET", "/wiki" + parts.path, parse_qs(parts.query))
    assert reply.status == 200
    return json.loads(reply.body())


def test_members_by_group_id_pages_with_next_links(site: Site) -> None:
    body = get(site, f"/group/{group_id('big')}/membersByGroupId", limit="2")
    seen, sizes = [], []
    while True:
        assert not conforms(body, schemas()["UserArray"]), conforms(body, schemas()["UserArray"])
        seen += [u["accountId"] for u in body["results"]]
        sizes.append(body["size"])
        if "next" not in body["_links"]:
            break
        body = follow(site, body["_links"]["next"])
    assert sizes == [2, 2, 1] and seen == [f"acc-{n}" for n in "abcde"]
    assert get(site, f"/group/{group_id('big')}/membersByGroupId")["limit"] == 200
    everyone = get(site, f"/group/{group_id('confluence-users')}/membersByGroupId")
    assert [u["accountId"] for u in everyone["results"]] == [u["accountId"] for u in USERS]


def test_deprecated_member_by_name_gives_the_same_answer(site: Site) -> None:
    by_id = get(site, f"/group/{group_id('sec')}/membersByGroupId")
    by_name = get(site, "/group/member", name="sec")
    assert by_name["results"] == by_id["results"] and by_name["size"] == 2
    assert get(site, "/group/member", name="sec", limit="500")["limit"] == 200


def test_unknown_groups_and_limits_answer_in_confluence_shape(site: Site) -> None:
    for path, query in ((f"/group/{group_id('nope')}/membersByGroupId", {}),
                        ("/group/member", {"name": ["nope"]})):
        reply = site.route("GET", "/wiki/rest/api" + path, query)
        assert reply.status == 404 and reply.payload["statusCode"] == 404 and reply.payload["message"]
    reply = site.route("GET", f"/wiki/rest/api/group/{group_id('sec')}/membersByGroupId", {"limit": ["201"]})
    assert reply.status == 400 and reply.payload["statusCode"] == 400


def test_restriction_by_operation_read_is_the_own_restriction_only(site: Site) -> None:
    own = get(site, "/content/2/restriction/byOperation/read")
    assert not conforms(own, schemas()["ContentRestriction"]), conforms(own, schemas()["ContentRestriction"])
    assert own["operation"] == "read" and own["restrictions"]["user"]["size"] == 0
    assert [g["name"] for g in own["restrictions"]["group"]["results"]] == ["sec"]
    child = get(site, "/content/3/restriction/byOperation/read")  # inherits from 2; Cloud shows none
    assert child["restrictions"]["group"]["results"] == [] and child["restrictions"]["user"]["results"] == []
    users = get(site, "/content/5/restriction/byOperation/read", expand="restrictions.user")
    assert [u["accountId"] for u in users["restrictions"]["user"]["results"]] == ["acc-e", "acc-a"]
    assert "group" not in users["restrictions"] and "group" in users["restrictions"]["_expandable"]
    both = get(site, "/content/5/restriction/byOperation")
    assert both["read"]["restrictions"]["user"]["size"] == 2 and both["update"]["operation"] == "update"
    missing = site.route("GET", "/wiki/rest/api/content/999/restriction/byOperation/read", {})
    assert missing.status == 404


RESTRICTIONS = "restrictions.read.restrictions.user,restrictions.read.restrictions.group"


def test_restrictions_expand_on_the_light_sweep_and_cql(site: Site) -> None:
    sweep = get(site, "/content/search", limit="250", expand="version," + RESTRICTIONS,
                cql="type IN (page,blogpost) AND space IN (PUB,PRIV,OPEN) ORDER BY id ASC")
    by_id = {r["id"]: r["restrictions"]["read"]["restrictions"] for r in sweep["results"]}
    assert set(by_id) == {i["id"] for i in ITEMS}
    assert [g["name"] for g in by_id["6"]["group"]["results"]] == ["sec"]
    assert [u["accountId"] for u in by_id["5"]["user"]["results"]] == ["acc-e", "acc-a"]
    assert by_id["4"]["user"]["results"] == [] and by_id["4"]["group"]["results"] == []
    for row in sweep["results"]:
        read = row["restrictions"]["read"]
        assert not conforms(read, schemas()["ContentRestriction"])
    one = get(site, "/content/search", cql="title = \"Page 21\"", expand=RESTRICTIONS)["results"][0]
    assert one["restrictions"]["read"]["restrictions"]["group"]["results"][0]["name"] == "sec"


# ---- changes: no version, no lastmodified ------------------------------------------------------

def test_access_changes_move_answers_but_not_versions(store: Store, site: Site) -> None:
    before = {i.id: (i.version, i.updated_ms) for i in store.snapshot()}
    generation = store.generation
    access.set_restrictions(store, "3", [], ["hr"])
    assert not can_view(store, "acc-c", "3")  # still under 2 (sec), now its own hr too
    access.set_restrictions(store, "2", [], [])
    assert can_view(store, "acc-c", "3") and not can_view(store, "acc-a", "3")
    access.set_space_perm(store, "PRIV", SpacePerm(users=(), groups=("sec",), anonymous=False))
    assert can_view(store, "acc-a", "10") and not can_view(store, "acc-c", "10")
    access.add_member(store, "hr", "acc-f")
    assert can_view(store, "acc-f", "3")
    access.remove_member(store, "hr", "acc-f")
    assert not can_view(store, "acc-f", "3")
    access.set_members(store, "confluence-users", ["acc-a"])
    assert not can_view(store, "acc-f", "1") and can_view(store, "acc-b", "1")  # b: via sec
    assert {i.id: (i.version, i.updated_ms) for i in store.snapshot()} == before
    assert store.generation > generation
    read = get(site, "/content/3/restriction/byOperation/read")
    assert [g["name"] for g in read["restrictions"]["group"]["results"]] == ["hr"]
    assert get(site, "/content/3", expand="version")["version"]["number"] == 1


def test_unknown_accounts_are_refused_in_members_and_space_users(store: Store) -> None:
    with pytest.raises(ValueError, match="no user acc-zz"):
        access.set_members(store, "hr", ["acc-zz"])
    with pytest.raises(ValueError, match="POST /__admin/users"):
        access.set_space_perm(store, "PRIV", SpacePerm(users=("acc-zz",)))
    assert store.members_of("hr") == ["acc-c"]


def test_a_corpus_file_brings_its_spaces_and_groups_files(tmp_path: Any) -> None:
    from emulator.corpus import write_jsonl
    from emulator.testing import build_store

    write_jsonl([page("1", "PRIV")], tmp_path / "corpus.jsonl")
    write_jsonl(SPACES, tmp_path / "spaces.jsonl")
    write_jsonl([{"name": "hr", "members": ["5f0c8e2a1b3d4c0069a1e001"]}], tmp_path / "groups.jsonl")
    built = build_store(tmp_path / "corpus.jsonl")  # the sample's users come along
    assert built.members_of("hr") == ["5f0c8e2a1b3d4c0069a1e001"]
    assert can_view(built, "5f0c8e2a1b3d4c0069a1e001", "1") and not can_view(built, "acc-c", "1")
    assert built.spaces["OPEN"].perm == SpacePerm((), ("confluence-users",), True)
