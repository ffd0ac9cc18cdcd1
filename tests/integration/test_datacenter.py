"""Data Center mode end to end: `kb emulator --datacenter`, the shapes it serves, a pull with
Server's basic auth, CQL dates in the server's time zone, the PAT kept out of every file, and the
stock connector refusing Data Center at once."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from ingest.config import load_settings
from ingest.errors import ConfigError
from ingest.pull.run import pull
from ingest.storage.ledger import Ledger
from tests.helpers import kb_emulator

LINE = re.compile(r"confluence emulator: url=(https://127\.0\.0\.1:(\d+)) domain=(127\.0\.0\.1:\2) "
                  r"email=(\S+) token=(\S+) ca=(\S+\.pem) deployment=datacenter context=(\S*) "
                  r"username=(\S+) tz=(\S+)$")
DC = {"datacenter": True, "context_path": "/confluence"}


def test_kb_emulator_datacenter_line_bearer_and_context(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"id": "42", "type": "page", "space": "T", "title": "Only", "body": "<p>x</p>"}\n')
    with kb_emulator("--port", "0", "--corpus", str(corpus), "--datacenter") as (proc, first):
        match = LINE.match(first)
        assert match, first
        url, _, _, _, pat, ca, context, username, tz = match.groups()
        assert (context, tz, len(pat)) == ("/confluence", "UTC", 44)
        bearer = {"Authorization": f"Bearer {pat}"}
        r = httpx.get(f"{url}/confluence/rest/api/content/42", headers=bearer, verify=ca, timeout=10)
        assert r.status_code == 200 and r.json()["title"] == "Only"
        assert httpx.get(f"{url}/wiki/rest/api/content/42", headers=bearer, verify=ca).status_code == 404
        assert httpx.get(f"{url}/confluence/rest/api/content/42", auth=(username, pat),
                         verify=ca).status_code == 200  # Server's basic auth
        assert httpx.get(f"{url}/confluence/rest/api/content/42", headers={"Authorization": "Bearer no"},
                         verify=ca).status_code == 401
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def test_data_center_shapes(emulator_factory: Any) -> None:
    emu = emulator_factory(pages=30, seed=1, groups=[{"name": "site ops", "members": []}], **DC)
    with httpx.Client(base_url=emu.site_url + "/rest/api", verify=emu.ca_path,
                      headers={"Authorization": f"Bearer {emu.token}"}) as http:
        me = http.get("/user/current").json()
        assert set(me) >= {"username", "userKey", "displayName"} and "accountId" not in me
        assert re.fullmatch(r"[0-9a-f]{32}", me["userKey"])
        page = http.get("/content/search", params={"cql": "type=page", "limit": 5,
                                                   "expand": "version,history"}).json()
        assert page["_links"]["context"] == "/confluence" and page["_links"]["base"] == emu.site_url
        assert "cursor" not in page["_links"]["next"] and "start=5" in page["_links"]["next"]
        author = page["results"][0]["version"]["by"]
        assert "userKey" in author and "accountId" not in author and "email" not in author
        assert page["results"][0]["_links"]["webui"].startswith("/pages/viewpage.action?pageId=")
        assert http.get("/content", params={"limit": 1000}).json()["limit"] == 200  # DC's cap
        group = http.get("/group").json()["results"][0]
        assert "id" not in group and group["type"] == "group"
        names = [g["name"] for g in http.get("/group").json()["results"]]
        assert "site ops" in names
        for name in names:  # by name, percent-encoded in the path
            assert http.get(f"/group/{quote(name, safe='')}/member", params={"limit": 2}).status_code == 200
        assert http.get(f"/group/{group['name']}/membersByGroupId").status_code == 404  # Cloud's only
        space = http.get("/space", params={"expand": "permissions"}).json()["results"][0]
        assert "permissions" not in space  # not an expansion on Data Center
        grants = http.get(f"/space/{space['key']}/permissions").json()
        assert isinstance(grants, list) and grants
        assert {"operation", "subject", "spaceKey"} <= set(grants[0])
        assert any(g["subject"]["type"] == "group" and g["operation"] == {"operationKey": "read",
                                                                            "targetType": "space"}
                   for g in grants)
        manifest = http.get(emu.site_url + "/rest/applinks/1.0/manifest")
        assert "<version>9.2.1</version>" in manifest.text


def test_server_basic_auth_pull_keeps_user_keys_and_no_secret_on_disk(emulator_factory: Any,
                                                                      tmp_path: Path) -> None:
    emu = emulator_factory(pages=20, seed=2, groups=[{"name": "site ops", "members": []}], **DC)
    basic = {"deployment": "datacenter", "domain_name": emu.domain, "context_path": "/confluence",
             "username": emu.username, "password": emu.token, "ca_bundle": emu.ca_path}
    settings = load_settings(confluence=basic, data={"dir": str(tmp_path / "basic")})
    assert pull(settings).new == 20
    bearer = load_settings(confluence=emu.confluence_settings(), data={"dir": str(tmp_path / "pat")})
    report = pull(bearer)
    assert report.new == 20 and report.access["unresolved"] == 0
    assert report.access["groups"] >= 1  # "site ops" read by name, percent-encoded
    with Ledger(bearer.data_dir) as led:
        page = next(led.iter_pages())
        assert page.url.startswith(emu.site_url + "/pages/viewpage.action?pageId=")
        assert re.fullmatch(r"[0-9a-f]{32}", page.author)  # a userKey, not an account id
    secret = emu.token.encode()
    leaked = [p for p in (tmp_path / "pat").rglob("*") if p.is_file() and secret in p.read_bytes()]
    assert leaked == []  # the PAT is in no ledger, cache or log file


def test_space_permissions_not_readable_keep_that_space_hidden(emulator_factory: Any,
                                                               tmp_path: Path) -> None:
    from ingest import check

    emu = emulator_factory(pages=20, seed=2, **DC)
    settings = load_settings(confluence=emu.confluence_settings(), data={"dir": str(tmp_path / "kb")})
    emu.admin.faults(f"{emu.rest}/space/ENG/permissions", "403")  # not a space admin of ENG
    report = pull(settings)
    assert report.access["spaces_without_permissions"] == ["ENG"]
    with Ledger(settings.data_dir) as led:
        eng = sum(1 for p in led.iter_pages() if p.space_key == "ENG")
    assert eng and report.access["unresolved"] == eng  # hidden from every principal: fail closed
    emu.admin.faults(f"{emu.rest}/space/*/permissions", "403")
    assert check(settings).space_permissions is False
    emu.admin.clear_faults()
    assert pull(settings).access["unresolved"] == 0


def test_cql_dates_in_the_servers_time_zone(emulator_factory: Any, tmp_path: Path) -> None:
    emu = emulator_factory(pages=10, seed=4, timezone="America/New_York", **DC)
    settings = load_settings(confluence=emu.confluence_settings(), data={"dir": str(tmp_path / "kb")},
                             pull={"cql_timezone": "America/New_York"})
    pull(settings)
    with Ledger(settings.data_dir) as led:
        first, second = [p.id for p in led.iter_pages() if p.kind == "page"][:2]
    emu.admin.clock(set="2030-01-01T15:30:00.000Z")  # 10:30 in New York: the next cursor
    emu.admin.edit(first, body="<p>edited at half past ten, New York time</p>")
    assert pull(settings).changed == 1
    emu.admin.clock(set="2030-01-01T15:31:10.000Z")  # inside the lookback: found only if the zone is right
    emu.admin.edit(second, body="<p>a minute later</p>")
    emu.admin.clear_requests()
    assert pull(settings).changed == 1
    windows = [q["query"]["cql"][0] for q in emu.admin.requests() if "lastmodified" in
               ",".join(q["query"].get("cql", []))]
    assert windows and all('lastmodified >= "2030-01-01 10:28"' in w for w in windows)


def test_the_stock_connector_refuses_data_center_at_once(emulator_factory: Any, tmp_path: Path) -> None:
    emu = emulator_factory(pages=3, seed=1, **DC)
    settings = load_settings(confluence=emu.confluence_settings(), data={"dir": str(tmp_path / "kb")})
    started = time.monotonic()
    with pytest.raises(ConfigError, match="cannot talk to Confluence Data Center") as info:
        pull(settings, source="stock")
    assert time.monotonic() - started < 2 and "--source manifest" in info.value.guidance
    assert emu.admin.requests() == []  # not one request sent
