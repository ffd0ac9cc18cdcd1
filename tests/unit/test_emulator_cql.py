"""The emulator's CQL subset: parsing, minute-resolution dates, IN, ordering, and /content/search."""

from __future__ import annotations

import pytest

from emulator import cql
from emulator.store import Store
from tests.helpers import cql_items


@pytest.fixture
def store() -> Store:
    return Store.build(cql_items())


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


