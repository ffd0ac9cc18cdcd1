"""The emulator's access admin API over real HTTPS: restrictions, space permissions, group members and
users change the REST answers at once, and never a page's version or lastmodified."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emulator.access import can_view
from emulator.admin import EmulatorAdminError
from emulator.render import group_id

USERS = [{"accountId": f"acc-{n}", "displayName": n.upper(), "email": f"{n}@corvid.example"}
         for n in "abcde"]
SPACES = [{"key": "ENG", "name": "Engineering",
           "permissions": {"groups": ["confluence-users"], "anonymous": True}},
          {"key": "HR", "name": "People", "permissions": {"users": ["acc-d"], "groups": ["hr"]}}]
GROUPS = [{"name": "hr", "members": ["acc-c"]}, {"name": "sec", "members": ["acc-a", "acc-b"]}]
ITEMS = [{"id": "700", "type": "page", "space": "ENG", "title": "Home", "body": "<p>h</p>",
          "updated": "2024-01-01T00:00:00Z"},
         {"id": "701", "type": "page", "space": "ENG", "title": "Keys", "body": "<p>k</p>",
          "parent_id": "700", "updated": "2024-01-01T00:00:00Z",
          "restrictions": {"users": [], "groups": ["sec"]}},
         {"id": "702", "type": "page", "space": "ENG", "title": "Keys child", "body": "<p>c</p>",
          "parent_id": "701", "updated": "2024-01-01T00:00:00Z"},
         {"id": "710", "type": "page", "space": "HR", "title": "Leave", "body": "<p>l</p>",
          "updated": "2024-01-01T00:00:00Z"}]
SWEEP = {"cql": "type IN (page,blogpost) AND space IN (ENG,HR) ORDER BY id ASC",
         "expand": "version,restrictions.read.restrictions.user,restrictions.read.restrictions.group"}


@pytest.fixture
def emu(emulator_factory: Any) -> Any:
    return emulator_factory(ITEMS, spaces=SPACES, users=USERS, groups=GROUPS)


@pytest.fixture
def client(emu: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url + "/wiki/rest/api", auth=(emu.email, emu.token),
                      verify=emu.ca_path, timeout=10) as c:
        yield c


def sweep(client: httpx.Client) -> dict[str, Any]:
    rows = client.get("/content/search", params=SWEEP).json()["results"]
    return {r["id"]: r for r in rows}


def read_groups(row: dict[str, Any]) -> list[str]:
    return [g["name"] for g in row["restrictions"]["read"]["restrictions"]["group"]["results"]]


def reads(client: httpx.Client, key: str) -> list[dict[str, Any]]:
    perms = client.get(f"/space/{key}", params={"expand": "permissions"}).json()["permissions"]
    return [p for p in perms if p["operation"] == {"operation": "read", "targetType": "space"}]


def test_restriction_change_shows_on_the_sweep_without_a_version_bump(emu: Any, client: httpx.Client) -> None:
    before = sweep(client)
    assert read_groups(before["701"]) == ["sec"] and read_groups(before["702"]) == []
    answer = emu.admin.set_restrictions("702", users=["acc-c"], groups=["hr"])
    assert answer == {"id": "702", "users": ["acc-c"], "groups": ["hr"]}
    emu.admin.set_restrictions("701")  # unrestricted
    after = sweep(client)
    assert read_groups(after["702"]) == ["hr"] and read_groups(after["701"]) == []
    for pid, row in after.items():
        assert row["version"] == before[pid]["version"], pid  # number and when: nothing moved
    found = client.get("/content/search", params={"cql": 'lastmodified >= "2024/06/01"'}).json()
    assert found["results"] == []
    byop = client.get("/content/702/restriction/byOperation/read").json()
    assert [u["accountId"] for u in byop["restrictions"]["user"]["results"]] == ["acc-c"]
    assert emu.admin.restrictions("702")["groups"] == ["hr"]
    assert can_view(emu.store, "acc-c", "702") and not can_view(emu.store, "acc-a", "702")


def test_space_permissions_round_trip(emu: Any, client: httpx.Client) -> None:
    assert any(p["anonymousAccess"] for p in reads(client, "ENG"))
    assert emu.admin.space_permissions("HR") == {"key": "HR", "users": ["acc-d"], "groups": ["hr"],
                                                 "anonymous": False, "explicit": True}
    emu.admin.set_space_permissions("HR", users=[], groups=["sec"], anonymous=True)
    hr = reads(client, "HR")
    assert [p["subjects"]["group"]["results"][0]["name"] for p in hr if "group" in p["subjects"]] == ["sec"]
    assert not [p for p in hr if "user" in p["subjects"]] and any(p["anonymousAccess"] for p in hr)
    assert can_view(emu.store, None, "710") and can_view(emu.store, "acc-a", "710")
    assert client.get("/content/710", params={"expand": "version"}).json()["version"]["number"] == 1
    with pytest.raises(EmulatorAdminError, match="404"):
        emu.admin.space_permissions("NOPE")


def test_group_members_admin_and_rest(emu: Any, client: httpx.Client) -> None:
    path = f"/group/{group_id('hr')}/membersByGroupId"
    assert [u["accountId"] for u in client.get(path).json()["results"]] == ["acc-c"]
    assert emu.admin.add_member("hr", "acc-e") == ["acc-c", "acc-e"]
    assert emu.admin.remove_member("hr", "acc-c") == ["acc-e"]
    assert [u["accountId"] for u in client.get(path).json()["results"]] == ["acc-e"]
    assert emu.admin.set_members("people-ops", ["acc-a", "acc-b"]) == ["acc-a", "acc-b"]
    assert "people-ops" in {g["name"] for g in client.get("/group").json()["results"]}
    by_name = client.get("/group/member", params={"name": "people-ops", "limit": 1}).json()
    assert by_name["size"] == 1 and "next" in by_name["_links"]
    assert emu.admin.members("people-ops") == ["acc-a", "acc-b"]
    with pytest.raises(EmulatorAdminError, match="400"):
        emu.admin.add_member("hr", "acc-nobody")
    with pytest.raises(EmulatorAdminError, match="404"):
        emu.admin.members("no-such-group")
    assert client.get(f"/group/{group_id('no-such-group')}/membersByGroupId").status_code == 404


def test_a_new_user_joins_confluence_users_and_can_be_granted(emu: Any, client: httpx.Client) -> None:
    emu.admin.add_user("acc-new", "New Person", "new@corvid.example")
    assert "acc-new" in {u["accountId"] for u in emu.admin.users()}
    everyone = client.get(f"/group/{group_id('confluence-users')}/membersByGroupId").json()["results"]
    assert "acc-new" in {u["accountId"] for u in everyone}
    assert can_view(emu.store, "acc-new", "700") and not can_view(emu.store, "acc-new", "702")
    emu.admin.add_member("sec", "acc-new")
    assert can_view(emu.store, "acc-new", "702")
    with pytest.raises(EmulatorAdminError, match="409"):
        emu.admin.add_user("acc-new", "Again")
