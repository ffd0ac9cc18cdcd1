"""The emulator's Confluence REST v1 surface, over HTTPS on loopback, hit with httpx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.helpers import shared_path

STOCK_EXPAND = ("history,history.lastUpdated,history.previousVersion,history.contributors,"
                "restrictions.read.restrictions.user,version,descendants.comment,body,body.storage,body.view")
OUR_EXPAND = ("body.storage,version,space,ancestors,history,metadata.labels,"
              "restrictions.read.restrictions.user,restrictions.read.restrictions.group")


def tree_items(n: int = 7) -> list[dict[str, Any]]:
    """A root page, children under it, one grandchild, and two blog posts."""
    items: list[dict[str, Any]] = [{"id": "1000", "type": "page", "space": "ENG", "title": "Home",
                                    "body": "<p>home</p>", "labels": ["root"],
                                    "author": "acc-1",
                                    "restrictions": {"users": ["acc-1"], "groups": ["eng"]}}]
    for i in range(1, n):
        items.append({"id": str(1000 + i), "type": "page", "space": "ENG", "title": f"Page {i}",
                      "parent_id": "1000", "body": f"<h2>Section {i}</h2><p>text {i}</p>",
                      "updated": f"2024-03-0{1 + i % 5}T10:0{i % 10}:00.000Z"})
    items.append({"id": "2000", "type": "page", "space": "OPS", "title": "Ops Home", "body": "<p>o</p>"})
    items.append({"id": "2001", "type": "page", "space": "OPS", "title": "Child", "parent_id": "2000",
                  "body": "<p>c</p>"})
    items.append({"id": "2002", "type": "page", "space": "OPS", "title": "Grandchild", "parent_id": "2001",
                  "body": "<p>g</p>"})
    items += [{"id": "3000", "type": "blogpost", "space": "ENG", "title": "News",
               "body": "<p>news</p>", "created": "2024-02-01T08:00:00Z"},
              {"id": "3001", "type": "blogpost", "space": "OPS", "title": "More news", "body": "<p>n</p>"}]
    return items


@pytest.fixture
def emu(emulator_factory: Any) -> Any:
    return emulator_factory(tree_items())


@pytest.fixture
def client(emu: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url + "/wiki/rest/api", auth=(emu.email, emu.token),
                      verify=emu.ca_path) as c:
        yield c


def key_paths(obj: Any, prefix: str = "") -> set[str]:
    out: set[str] = set()
    if isinstance(obj, dict):
        for key, value in obj.items():
            out.add(prefix + key)
            out |= key_paths(value, prefix + key + ".")
    elif isinstance(obj, list) and obj:
        out |= key_paths(obj[0], prefix + "[].")
    return out


def test_bad_or_missing_credentials_get_401_in_confluence_shape(emu: Any) -> None:
    for auth in [None, (emu.email, "wrong-token"), ("someone@else", emu.token)]:
        r = httpx.get(emu.url + "/wiki/rest/api/space", auth=auth, verify=emu.ca_path)
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"].startswith("Basic")
        body = r.json()
        assert body["statusCode"] == 401 and body["data"]["authorized"] is False and body["message"]


def test_https_needs_the_generated_ca(emu: Any) -> None:
    with pytest.raises(httpx.ConnectError):
        httpx.get(emu.url + "/wiki/rest/api/space", auth=(emu.email, emu.token), verify=True)
    assert emu.url.startswith("https://127.0.0.1:") and emu.ca_path.endswith("ca.pem")


def test_plain_http_mode(emulator_factory: Any) -> None:
    emu = emulator_factory(tree_items(), http=True)
    assert emu.url.startswith("http://") and emu.ca_path == ""
    r = httpx.get(emu.url + "/wiki/rest/api/user/current", auth=(emu.email, emu.token))
    assert r.status_code == 200 and r.json()["email"] == emu.email
    assert emu.confluence_settings()["scheme"] == "http"


def test_pagination_follows_links_next_to_every_item(client: httpx.Client) -> None:
    seen, url, pages = [], "/content?type=page&limit=3", 0
    while url:
        body = client.get(url).json()
        pages += 1
        assert body["limit"] == 3 and body["size"] == len(body["results"])
        assert body["_links"]["base"].endswith("/wiki") and body["_links"]["context"] == "/wiki"
        seen += [r["id"] for r in body["results"]]
        nxt = body["_links"].get("next")
        url = nxt.removeprefix("/rest/api") if nxt else ""
        if nxt:
            assert nxt.startswith("/rest/api/content?") and "type=page" in nxt
    assert pages == 4 and len(seen) == len(set(seen)) == 10
    last = client.get("/content", params={"type": "page", "start": 9, "limit": 3}).json()
    assert last["start"] == 9 and last["size"] == 1 and "next" not in last["_links"]


def test_limit_is_capped_like_cloud(client: httpx.Client) -> None:
    assert client.get("/content", params={"limit": 1000}).json()["limit"] == 250
    capped = client.get("/content", params={"limit": 1000, "expand": "body.storage"}).json()
    assert capped["limit"] == 50


def test_content_filters_type_space_status(client: httpx.Client, emu: Any) -> None:
    blogs = client.get("/content", params={"type": "blogpost"}).json()["results"]
    assert {b["id"] for b in blogs} == {"3000", "3001"} and {b["type"] for b in blogs} == {"blogpost"}
    ops = client.get("/content", params={"type": "page", "spaceKey": "OPS"}).json()["results"]
    assert [p["id"] for p in ops] == ["2000", "2001", "2002"]
    emu.admin.trash("2001")
    ids = [p["id"] for p in client.get("/content", params={"spaceKey": "OPS"}).json()["results"]]
    assert ids == ["2000", "2002"]
    trashed = client.get("/content", params={"spaceKey": "OPS", "status": "trashed"}).json()["results"]
    assert [(p["id"], p["status"]) for p in trashed] == [("2001", "trashed")]
    anyst = client.get("/content", params={"spaceKey": "OPS", "status": "any"}).json()["results"]
    assert len(anyst) == 3


def test_only_what_is_asked_is_expanded(client: httpx.Client) -> None:
    bare = client.get("/content/1001").json()
    assert bare["id"] == "1001" and bare["type"] == "page" and bare["title"] == "Page 1"
    for key in ("body", "version", "space", "history", "ancestors", "metadata", "restrictions"):
        assert key not in bare and key in bare["_expandable"]
    some = client.get("/content/1001", params={"expand": "version,body.storage"}).json()
    assert some["version"]["number"] == 1 and some["body"]["storage"]["value"].startswith("<h2>")
    assert "view" not in some["body"] and "space" not in some and "version" not in some["_expandable"]


def test_expanded_fields_have_the_shapes_of_our_manifest(client: httpx.Client) -> None:
    page = client.get("/content/2002", params={"expand": OUR_EXPAND}).json()
    assert isinstance(page["id"], str) and page["status"] == "current"
    assert page["space"]["key"] == "OPS" and set(page["space"]) >= {"id", "key", "name", "type", "_links"}
    assert [a["id"] for a in page["ancestors"]] == ["2000", "2001"]
    assert page["history"]["latest"] is True and page["history"]["createdBy"]["accountId"]
    assert page["history"]["createdDate"].endswith("Z")
    version = page["version"]
    assert set(version) >= {"number", "when", "by", "message", "minorEdit"}
    assert page["body"]["storage"] == {"value": "<p>g</p>", "representation": "storage",
                                       "embeddedContent": [],
                                       "_expandable": {"content": "/rest/api/content/2002"}}
    assert set(page["_links"]) >= {"webui", "self", "tinyui"}
    assert page["_links"]["webui"] == "/spaces/OPS/pages/2002/Grandchild"
    home = client.get("/content/1000", params={"expand": OUR_EXPAND}).json()
    assert home["metadata"]["labels"]["results"][0] == {
        "prefix": "global", "name": "root", "id": home["metadata"]["labels"]["results"][0]["id"],
        "label": "root"}
    read = home["restrictions"]["read"]["restrictions"]
    assert [u["accountId"] for u in read["user"]["results"]] == ["acc-1"]
    assert [g["name"] for g in read["group"]["results"]] == ["eng"]


def test_stock_expand_matches_the_real_cloud_records_key_for_key(client: httpx.Client) -> None:
    real = {}
    with open(shared_path("data", "confluence", "rest_api", "v1",
                          "airbyte_cloud_expected_records.jsonl")) as fh:
        for line in fh:
            record = json.loads(line)
            real[record["stream"]] = record["data"]
    ours = {
        "pages": client.get("/content", params={"type": "page", "expand": STOCK_EXPAND}).json()["results"][0],
        "blog_posts": client.get("/content", params={"type": "blogpost", "expand": STOCK_EXPAND}
                                 ).json()["results"][0],
        "space": client.get("/space", params={"expand": "permissions,icon,description.plain,description.view"}
                            ).json()["results"][0],
        "group": client.get("/group").json()["results"][0],
        "audit": client.get("/audit").json()["results"][0],
    }
    # The real blog post went through the collaborative editor (syncRev); ours did not.
    allowed = {"history.lastUpdated.syncRev", "history.lastUpdated.syncRevSource", "version.syncRev",
               "version.syncRevSource"}
    for stream, record in ours.items():
        missing = key_paths(real[stream]) - key_paths(record) - allowed
        assert not missing, f"{stream}: keys of the real Cloud record missing: {sorted(missing)}"
        for key in ("id", "type", "status", "title"):
            if key in real[stream]:
                assert type(record[key]) is type(real[stream][key]), (stream, key)


def test_spaces_user_group_audit(client: httpx.Client, emu: Any) -> None:
    spaces = client.get("/space").json()
    assert {s["key"] for s in spaces["results"]} == {"ENG", "OPS"}
    assert all(isinstance(s["id"], int) for s in spaces["results"])
    one = client.get("/space/ENG").json()
    assert one["key"] == "ENG" and one["_links"]["webui"] == "/spaces/ENG"
    assert client.get("/space/NOPE").status_code == 404
    me = client.get("/user/current").json()
    assert me["email"] == emu.email and me["type"] == "known" and me["accountId"]
    groups = client.get("/group").json()["results"]
    assert "eng" in {g["name"] for g in groups} and all(g["type"] == "group" for g in groups)
    audit = client.get("/audit").json()
    assert audit["size"] >= 2 and audit["results"][0]["creationDate"].isdigit()


def test_unknown_content_and_routes_are_404(client: httpx.Client) -> None:
    r = client.get("/content/999999")
    assert r.status_code == 404 and r.json()["statusCode"] == 404
    assert client.get("/nothing/here").status_code == 404


def test_children_of_a_page(client: httpx.Client) -> None:
    kids = client.get("/content/2000/child/page").json()["results"]
    assert [k["id"] for k in kids] == ["2001"]


def test_the_sample_space_is_served_whole(emulator: Any) -> None:
    from emulator.corpus import SAMPLE_CORPUS, SAMPLE_QA, SAMPLE_SPACES, read_corpus, read_jsonl, read_spaces

    items = list(read_corpus(SAMPLE_CORPUS))
    with httpx.Client(base_url=emulator.url + "/wiki/rest/api", auth=(emulator.email, emulator.token),
                      verify=emulator.ca_path) as client:
        served = {}
        for kind in ("page", "blogpost"):  # with bodies a page holds 50 at most: follow next
            body = client.get("/content",
                              params={"type": kind, "limit": 250, "expand": "space,body.storage"}).json()
            served.update({r["id"]: r for r in body["results"]})
            while "next" in body["_links"]:
                body = client.get(emulator.url + "/wiki" + body["_links"]["next"]).json()
                served.update({r["id"]: r for r in body["results"]})
        assert set(served) == {i["id"] for i in items}
        for item in items:
            assert served[item["id"]]["title"] == item["title"]
            assert served[item["id"]]["body"]["storage"]["value"] == item["body"]
        names = {s["key"]: s["name"] for s in read_spaces(SAMPLE_SPACES)}
        assert {r["space"]["key"]: r["space"]["name"] for r in served.values()}.items() <= names.items()
        gold = {g for qa in read_jsonl(SAMPLE_QA) for g in qa["gold"]}
        assert gold and gold <= set(served)
