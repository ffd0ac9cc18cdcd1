"""The emulator's /content/search over HTTP: paging with cursor and start."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import cql_items


def test_search_endpoint_pages_with_cursor_and_start(emulator_factory: Any) -> None:
    emu = emulator_factory(cql_items())
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
