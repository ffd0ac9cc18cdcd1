"""The emulator's admin API: mutations seen by the next request, the clock, faults, the request log."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emulator.admin import EmulatorAdminError

ITEMS = [{"id": str(500 + i), "type": "page", "space": "ENG", "title": f"P{i}", "body": f"<p>{i}</p>",
          "updated": "2024-01-01T00:00:00Z", **({"parent_id": "500"} if i else {})} for i in range(4)]


@pytest.fixture
def emu(emulator_factory: Any) -> Any:
    handle = emulator_factory(ITEMS)
    handle.admin.clock(set="2024-06-01T12:00:00Z")
    return handle


@pytest.fixture
def client(emu: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url + "/wiki/rest/api", auth=(emu.email, emu.token),
                      verify=emu.ca_path, timeout=10) as c:
        yield c


def get(client: httpx.Client, content_id: str, **params: str) -> dict[str, Any]:
    return client.get(f"/content/{content_id}", params={"expand": "version,body.storage,ancestors,"
                                                        "metadata.labels,restrictions.read.restrictions.group",
                                                        **params}).json()


def test_edit_bumps_version_and_lastmodified_to_the_emulator_clock(emu: Any, client: httpx.Client) -> None:
    assert get(client, "502")["version"]["number"] == 1
    emu.admin.edit("502", title="Renamed", body="<p>new</p>", labels=["a", "b"],
                   restrictions={"groups": ["eng"]}, message="why")
    page = get(client, "502")
    assert page["title"] == "Renamed" and page["body"]["storage"]["value"] == "<p>new</p>"
    assert page["version"]["number"] == 2 and page["version"]["message"] == "why"
    assert page["version"]["when"].startswith("2024-06-01T12:00")
    assert [lab["name"] for lab in page["metadata"]["labels"]["results"]] == ["a", "b"]
    assert [g["name"] for g in page["restrictions"]["read"]["restrictions"]["group"]["results"]] == ["eng"]
    found = client.get("/content/search", params={"cql": 'lastmodified >= "2024/06/01 12:00"'}).json()
    assert [r["id"] for r in found["results"]] == ["502"]


def test_move_changes_ancestors(emu: Any, client: httpx.Client) -> None:
    emu.admin.edit("503", parent_id="502")
    assert [a["id"] for a in get(client, "503")["ancestors"]] == ["500", "502"]


def test_create_trash_restore_purge(emu: Any, client: httpx.Client) -> None:
    new_id = emu.admin.create({"type": "page", "space": "OPS", "title": "Fresh", "body": "<p>f</p>"})
    assert get(client, new_id)["title"] == "Fresh"
    assert "OPS" in {s["key"] for s in client.get("/space").json()["results"]}
    emu.admin.trash(new_id)
    assert client.get(f"/content/{new_id}").status_code == 404
    assert get(client, new_id, status="trashed")["status"] == "trashed"
    assert new_id not in {r["id"]
                          for r in client.get("/content", params={"spaceKey": "OPS"}).json()["results"]}
    emu.admin.restore(new_id)
    assert get(client, new_id)["status"] == "current"
    emu.admin.purge(new_id)
    assert client.get(f"/content/{new_id}", params={"status": "any"}).status_code == 404
    with pytest.raises(EmulatorAdminError):
        emu.admin.purge(new_id)


def test_clock_set_and_advance(emu: Any) -> None:
    assert emu.admin.now().startswith("2024-06-01T12:00")
    assert emu.admin.clock(advance_minutes=90).startswith("2024-06-01T13:30")
    emu.admin.edit("501", title="later")
    assert emu.admin.get("501")["updated"].startswith("2024-06-01T13:30")


def test_fault_429_n_times_with_retry_after(emu: Any, client: httpx.Client) -> None:
    emu.admin.faults("/wiki/rest/api/content*", "429", times=2, retry_after=7)
    statuses = [client.get("/content").status_code for _ in range(3)]
    assert statuses == [429, 429, 200]
    emu.admin.faults("/wiki/rest/api/space", 429)
    r = client.get("/space")
    assert r.status_code == 429 and r.headers["Retry-After"] == "1" and r.json()["statusCode"] == 429
    emu.admin.clear_faults()
    assert client.get("/space").status_code == 200


def test_fault_for_a_fraction_of_requests(emu: Any, client: httpx.Client) -> None:
    emu.admin.faults("/wiki/rest/api/content", "503", fraction=0.5)
    statuses = [client.get("/content").status_code for _ in range(40)]
    assert {200, 503} == set(statuses) and 8 <= statuses.count(503) <= 32


@pytest.mark.parametrize("kind", ["500", "503"])
def test_fault_server_errors(emu: Any, client: httpx.Client, kind: str) -> None:
    emu.admin.faults("content", kind, times=1)
    r = client.get("/content")
    assert r.status_code == int(kind) and r.json()["statusCode"] == int(kind)
    assert client.get("/content").status_code == 200


def test_fault_slow_response(emu: Any, client: httpx.Client) -> None:
    emu.admin.faults("/wiki/rest/api/space", "slow", times=1, delay=0.4)
    started = time.perf_counter()
    assert client.get("/space").status_code == 200
    assert time.perf_counter() - started >= 0.4


def test_fault_truncated_body(emu: Any, client: httpx.Client) -> None:
    emu.admin.faults("/wiki/rest/api/content", "truncate", times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/content", params={"expand": "body.storage"})
    assert client.get("/content").status_code == 200


def test_fault_connection_reset(emu: Any, client: httpx.Client) -> None:
    emu.admin.faults("/wiki/rest/api/content", "reset", times=1)
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError, httpx.ConnectError)):
        client.get("/content")
    assert client.get("/content").status_code == 200


def test_unknown_fault_kind_is_refused(emu: Any) -> None:
    with pytest.raises(EmulatorAdminError):
        emu.admin.faults("*", "explode")


def test_request_log_records_and_clears(emu: Any, client: httpx.Client) -> None:
    emu.admin.clear_requests()
    client.get("/content", params={"type": "page", "limit": "2"})
    httpx.get(emu.url + "/wiki/rest/api/space", verify=emu.ca_path)
    log = emu.admin.requests()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("GET", "/wiki/rest/api/content", 200), ("GET", "/wiki/rest/api/space", 401)]
    assert log[0]["query"] == {"type": ["page"], "limit": ["2"]} and log[0]["bytes"] > 0
    assert log[0]["time"].startswith("2024-06-01T12:")
    emu.admin.clear_requests()
    assert emu.admin.requests() == []


def test_admin_answers_without_confluence_auth_but_rejects_bad_input(emu: Any) -> None:
    r = httpx.post(emu.url + "/__admin/clock", json={"set": "not a date"}, verify=emu.ca_path)
    assert r.status_code == 400
    r = httpx.put(emu.url + "/__admin/content/nope", json={"title": "x"}, verify=emu.ca_path)
    assert r.status_code == 404
