"""The emulator's CQL subset: parsing, minute-resolution dates, IN, ordering, and /content/search."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from emulator import cql
from emulator.store import Store


def items() -> list[dict[str, Any]]:
    return [
        {"id": "11", "type": "page", "space": "ENG", "title": "A", "body": "", "labels": ["x"],
         "updated": "2024-05-01T10:04:59.999Z"},
        {"id": "12", "type": "page", "space": "ENG", "title": "B", "body": "", "parent_id": "11",
         "updated": "2024-05-01T10:05:00.000Z"},
        {"id": "13", "type": "page", "space": "OPS", "title": "C", "body": "",
         "updated": "2024-05-01T10:05:59.999Z"},
        {"id": "14", "type": "blogpost", "space": "OPS", "title": "D", "body": "",
         "updated": "2024-05-01T10:06:00.000Z"},
        {"id": "15", "type": "page", "space": "SEC", "title": "E", "body": "", "parent_id": "12",
         "updated": "2024-05-01T10:05:30.000Z"},
    ]


@pytest.fixture
def store() -> Store:
    return Store.build(items())


def ids(query: str, store: Store) -> list[str]:
    return [i.id for i in cql.search(query, store)]


@pytest.mark.parametrize("date", ["2024/05/01 10:05", "2024-05-01 10:05", "2024-05-01T10:05:42Z"])
def test_lastmodified_boundaries_have_minute_resolution(store: Store, date: str) -> None:
    assert ids(f'lastmodified = "{date}"', store) == ["12", "13", "15"]
    assert ids(f'lastmodified >= "{date}"', store) == ["12", "13", "14", "15"]
    assert ids(f'lastmodified > "{date}"', store) == ["14"]
    assert ids(f'lastmodified < "{date}"', store) == ["11"]
    assert ids(f'lastmodified <= "{date}"', store) == ["11", "12", "13", "15"]


def test_date_only_means_midnight(store: Store) -> None:
    assert ids('lastmodified >= "2024/05/01"', store) == ["11", "12", "13", "14", "15"]
    assert ids('lastmodified < "2024-05-01"', store) == []
    assert ids("created >= 2000-01-01", store) == ["11", "12", "13", "14", "15"]


def test_in_and_equality_on_type_space_id(store: Store) -> None:
    assert ids("type = page", store) == ["11", "12", "13", "15"]
    assert ids('type IN (page, "blogpost") AND space IN ("OPS", SEC)', store) == ["13", "14", "15"]
    assert ids("id IN (11, 14) OR space = SEC", store) == ["11", "14", "15"]
    assert ids("space != ENG AND NOT type = blogpost", store) == ["13", "15"]
    assert ids("space NOT IN (ENG, OPS)", store) == ["15"]
    assert ids("label = x", store) == ["11"]
    assert ids("ancestor = 11", store) == ["12", "15"]
    assert ids("parent = 12", store) == ["15"]
    assert ids('(space = ENG OR space = SEC) AND title ~ "e"', store) == ["15"]


def test_order_by_lastmodified_and_id(store: Store) -> None:
    assert ids("type = page ORDER BY lastmodified ASC", store) == ["11", "12", "15", "13"]
    assert ids("type = page ORDER BY lastmodified DESC", store) == ["13", "15", "12", "11"]
    assert ids("space in (ENG, OPS) order by id desc", store) == ["14", "13", "12", "11"]
    assert ids("ORDER BY lastmodified", store)[0] == "11"


def test_trashed_only_when_status_is_asked(store: Store) -> None:
    store.set_status("13", "trashed")
    assert "13" not in ids("space = OPS", store)
    assert ids("space = OPS AND status = trashed", store) == ["13"]
    assert ids("space = OPS AND status IN (current, trashed)", store) == ["13", "14"]


@pytest.mark.parametrize("bad", ["type = ", "type page", "lastmodified > \"yesterday-ish\"",
                                 "bogus = 1", "type = page ORDER BY nothing", "(type = page"])
def test_malformed_or_unsupported_cql_is_an_error(store: Store, bad: str) -> None:
    with pytest.raises(cql.CQLError):
        cql.search(bad, store)


def test_search_endpoint_pages_with_cursor_and_start(emulator_factory: Any) -> None:
    emu = emulator_factory(items())
    with httpx.Client(base_url=emu.url + "/wiki/rest/api", auth=(emu.email, emu.token),
                      verify=emu.ca_path) as client:
        query = 'type IN (page, blogpost) AND lastmodified >= "2024/05/01 10:05" ORDER BY lastmodified ASC'
        first = client.get("/content/search", params={"cql": query, "limit": 2, "expand": "version"}).json()
        assert [r["id"] for r in first["results"]] == ["12", "15"] and first["size"] == 2
        assert first["results"][0]["version"]["when"] == "2024-05-01T10:05:00.000Z"
        nxt = first["_links"]["next"]
        assert nxt.startswith("/rest/api/content/search?") and "cursor=" in nxt and "expand=version" in nxt
        second = client.get(nxt.removeprefix("/rest/api")).json()
        assert [r["id"] for r in second["results"]] == ["13", "14"] and "next" not in second["_links"]
        by_start = client.get("/content/search", params={"cql": query, "limit": 2, "start": 2}).json()
        assert [r["id"] for r in by_start["results"]] == ["13", "14"]
        bad = client.get("/content/search", params={"cql": "type = "})
        assert bad.status_code == 400 and bad.json()["statusCode"] == 400
        assert client.get("/content/search").status_code == 400
