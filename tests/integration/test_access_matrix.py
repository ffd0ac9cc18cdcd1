"""The leak matrix: 7 principals x 50 pages, every surface, against the emulator's own view rule.

A site built for it (public space with anonymous access, a team space, a private space; restrictions
on pages, parents and grandparents, by user and by group; blog posts) is pulled through PyAirbyte and
indexed. Then, for every principal and every page, the page's exact title is asked on every surface:
the Python API (search, ask, the LangChain retriever), the CLI (`kb search/ask --as`) and the server
over real HTTP (/v1/search, /v1/ask as JSON and as a stream, /v1/chat/completions with OpenAI's
`user`). No response may carry anything of a page the principal may not view (each body holds a
marker word; the raw response text is scanned), and every page they may view is found by its title.
The oracle is the emulator's `can_view`, Confluence's rule as the emulator serves it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from ingest.config import Settings, load_settings
from ingest.index.embed import FakeEmbedder
from ingest.pipeline import ingest
from tests.helpers import sse_events

pytestmark = pytest.mark.slow

SYL = ("ka", "lo", "mi", "zu", "ve", "ri", "do", "pa", "xe", "no", "ti", "gu")


def word(n: int) -> str:
    """A made-up word per number: titles and markers no other page shares."""
    out = ""
    for _ in range(4):
        out += SYL[n % len(SYL)]
        n //= len(SYL)
    return out


PEOPLE = {  # email -> (account id, groups)
    "alice@acl.test": ("acc-alice", ("confluence-users", "sec")),
    "bob@acl.test": ("acc-bob", ("confluence-users",)),
    "carol@acl.test": ("acc-carol", ("confluence-users", "hr")),
    "dave@acl.test": ("acc-dave", ("confluence-users", "sec", "hr")),
    "erin@acl.test": ("acc-erin", ()),  # in no group: only what names her, and what anonymous sees
    "frank@acl.test": ("acc-frank", ("confluence-users", "eng")),
}
SPACES = {  # key -> space permission
    "PUB": {"users": [], "groups": ["confluence-users"], "anonymous": True},
    "TEAM": {"users": [], "groups": ["confluence-users"], "anonymous": False},
    "PRIV": {"users": ["acc-erin"], "groups": ["hr"], "anonymous": False},
}
# (key, space, parent key, type, restriction users, restriction groups)
PATTERN = [
    ("open", "PUB", None, "page", (), ()),
    ("open-child", "PUB", "open", "page", (), ()),
    ("open-grandchild", "PUB", "open-child", "page", (), ()),
    ("sec", "PUB", None, "page", (), ("sec",)),
    ("sec-child", "PUB", "sec", "page", (), ()),                   # restricted parent
    ("sec-grandchild", "PUB", "sec-child", "page", (), ()),        # restricted grandparent, open parent
    ("bob", "PUB", None, "page", ("acc-bob",), ()),
    ("bob-and-alice", "PUB", "bob", "page", ("acc-bob", "acc-alice"), ()),  # both must hold: bob only
    ("eng-or-carol", "PUB", None, "page", ("acc-carol",), ("eng",)),
    ("eng-or-carol-child", "PUB", "eng-or-carol", "page", (), ()),
    ("erin-in-pub", "PUB", None, "page", ("acc-erin",), ()),
    ("team", "TEAM", None, "page", (), ()),
    ("team-child", "TEAM", "team", "page", (), ()),
    ("team-hr", "TEAM", None, "page", (), ("hr",)),
    ("team-hr-dave", "TEAM", "team-hr", "page", ("acc-dave",), ()),
    ("team-erin", "TEAM", None, "page", ("acc-erin",), ()),     # erin may not view TEAM at all
    ("priv", "PRIV", None, "page", (), ()),
    ("priv-hr", "PRIV", "priv", "page", (), ("hr",)),
    ("priv-erin", "PRIV", None, "page", ("acc-erin",), ()),
    ("priv-child", "PRIV", "priv", "page", (), ()),
    ("post-open", "PUB", None, "blogpost", (), ()),
    ("post-frank", "PUB", None, "blogpost", ("acc-frank",), ()),
    ("post-team", "TEAM", None, "blogpost", (), ("sec",)),
    ("post-priv", "PRIV", None, "blogpost", (), ()),
    ("team-sec-deep", "TEAM", "team-child", "page", (), ("sec",)),
]
PRINCIPALS = [*PEOPLE, "anonymous", "mallory@elsewhere.test"]


def corpus() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for copy in range(2):  # the pattern twice: 50 pages
        ids = {key: str(70000 + copy * 100 + i) for i, (key, *_) in enumerate(PATTERN)}
        for i, (key, space, parent, kind, users, groups) in enumerate(PATTERN):
            n = copy * 100 + i
            item: dict[str, Any] = {
                "id": ids[key], "type": kind, "space": space, "title": f"{word(n)} {word(n + 500)} {key}",
                "body": f"<h2>About</h2><p>This page keeps the {word(n + 1000)} notes: "
                        f"marker{word(n + 2000)} for {key}, copy {copy}.</p>"}
            if parent:
                item["parent_id"] = ids[parent]
            if users or groups:
                item["restrictions"] = {"users": list(users), "groups": list(groups)}
            items.append(item)
    return items


def marker(item: dict[str, Any]) -> str:
    return item["body"].split("marker", 1)[1].split(" ", 1)[0]


def admin(emu: Any, method: str, path: str, body: Any = None) -> Any:
    resp = httpx.request(method, f"{emu.url}/__admin/{path}", json=body, verify=emu.ca_path or False)
    assert resp.status_code < 300, resp.text
    return resp.json()


def configure(emu: Any) -> None:
    for email, (account, _) in PEOPLE.items():
        admin(emu, "POST", "users", {"accountId": account, "displayName": email.split("@")[0].title(),
                                     "email": email})
    members: dict[str, list[str]] = {}
    for account, groups in PEOPLE.values():
        for group in groups:
            members.setdefault(group, []).append(account)
    for group, accounts in members.items():
        admin(emu, "PUT", f"group/{group}/members", {"members": accounts})
    for key, perm in SPACES.items():
        admin(emu, "PUT", f"space/{key}/permissions", perm)


def oracle(emu: Any, who: str) -> set[str]:
    """Ids the emulator says `who` may view (Confluence's rule)."""
    from emulator.access import can_view

    account = PEOPLE[who][0] if who in PEOPLE else None
    return {item.id for item in emu.store.select() if can_view(emu.store, account, item)}


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Settings, list[dict[str, Any]]]]:
    from emulator.testing import start_emulator

    items = corpus()
    emu = start_emulator(items)
    try:
        configure(emu)
        settings = load_settings(confluence=emu.confluence_settings(),
                                 data={"dir": str(tmp_path_factory.mktemp("acl") / "kb")},
                                 server={"api_keys": "matrix-backend-key=backend",
                                         "rate_limit_per_minute": 0})
        report = ingest(settings, embedder=FakeEmbedder())
        assert report.pull.access["unresolved"] == 0, report.pull.access
        yield emu, settings, items
    finally:
        emu.stop()


@pytest.fixture(scope="module")
def server(kb: tuple[Any, Settings, list[dict[str, Any]]]) -> Iterator[str]:
    from retrieval.http.app import create_app, running_server
    from retrieval.http.engine import KBEngine

    _, settings, _ = kb
    with running_server(create_app(settings, engine=KBEngine(settings, embedder=FakeEmbedder()))) as url:
        yield url


def _check(who: str, item: dict[str, Any], text: str, pages: set[str], visible: set[str],
           items: list[dict[str, Any]], surface: str) -> None:
    leaked = pages - visible
    assert not leaked, f"{surface}: {who} got pages they may not view: {sorted(leaked)}"
    for other in items:
        if other["id"] not in visible:
            assert marker(other) not in text, f"{surface}: {who} saw text of {other['id']}"
    if item["id"] in visible:
        assert item["id"] in pages, f"{surface}: {who} cannot find {item['id']} {item['title']!r} by title"


def _api_surfaces(settings: Settings, who: Any, title: str, retriever: Any,
                  every: bool) -> Iterator[tuple[str, set[str], str]]:
    """The Python API. search() and ask() open the knowledge base per call (~0.3 s): every third
    page; the LangChain retriever, opened once per principal, every page."""
    from retrieval import ask, search

    if every:
        hits = search(title, settings, k=5, embedder=FakeEmbedder(), principal=who)
        yield "search()", {h.page_id for h in hits}, json.dumps([h.to_dict() for h in hits])
        answer = ask(title, settings, k=5, embedder=FakeEmbedder(), principal=who)
        yield "ask()", {h.page_id for h in answer.hits}, json.dumps(answer.to_dict())
    docs = retriever.invoke(title)
    yield "as_retriever()", {d.metadata["page_id"] for d in docs}, json.dumps(
        [[d.page_content, d.metadata] for d in docs], default=str)


def _http_surfaces(url: str, who: str | None, title: str,
                   history: list[dict[str, str]]) -> Iterator[tuple[str, set[str], str]]:
    auth = {"Authorization": "Bearer matrix-backend-key"}
    user = {"user": who} if who else {}
    resp = httpx.post(f"{url}/v1/search", headers=auth, json={"query": title, "k": 5, **user}, timeout=30)
    yield "/v1/search", {h["page_id"] for h in resp.json()["hits"]}, resp.text
    resp = httpx.post(f"{url}/v1/ask", headers=auth, timeout=30,
                      json={"question": title, "k": 5, "history": history, **user})
    assert resp.status_code == 200, resp.text
    yield "/v1/ask", {h["page_id"] for h in resp.json()["hits"]}, resp.text
    resp = httpx.post(f"{url}/v1/ask", headers=auth, timeout=30,
                      json={"question": title, "k": 5, "stream": True, **user})
    assert resp.status_code == 200, resp.text
    first = json.loads(sse_events(resp.text)[0][1])
    yield "/v1/ask stream", {h["page_id"] for h in first["hits"]}, resp.text
    resp = httpx.post(f"{url}/v1/chat/completions", headers=auth, timeout=30,
                      json={"model": "confluence-kb",
                            "messages": [*history, {"role": "user", "content": title}], **user})
    cited = {c["chunk_id"].split(":")[0] for c in resp.json().get("citations", [])}
    yield "/v1/chat/completions", cited, resp.text


@pytest.mark.parametrize("who", PRINCIPALS)
def test_no_surface_leaks_and_every_visible_page_is_found(kb: Any, server: str, who: str) -> None:
    emu, settings, items = kb
    visible = oracle(emu, who)
    from retrieval import as_retriever

    principal = None if who == "anonymous" else who
    retriever = as_retriever(settings, k=5, embedder=FakeEmbedder(), principal=who)
    for n, item in enumerate(items):
        title = item["title"]
        # a follow-up that names a restricted page in its history must not bring it back
        history = [{"role": "user", "content": items[3]["title"]}, {"role": "assistant", "content": "?"}]
        for surface, pages, text in [*_api_surfaces(settings, who, title, retriever, n % 3 == 0),
                                     *_http_surfaces(server, principal, title, history)]:
            if surface == "/v1/chat/completions":  # citations only: found-by-title is checked elsewhere
                assert not pages - visible and all(marker(o) not in text for o in items
                                                   if o["id"] not in visible), (surface, who, item["id"])
                continue
            _check(who, item, text, pages, visible, items, surface)
    retriever.searcher.close()


@pytest.mark.parametrize("who", ["alice@acl.test", "erin@acl.test", "anonymous"])
def test_the_cli_with_as_leaks_nothing(kb: Any, who: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import ingest.index.embed as embed
    from retrieval.cli.root import STATE, app

    emu, settings, items = kb
    monkeypatch.setattr(embed, "load_embedder", lambda settings: FakeEmbedder())
    monkeypatch.setattr(STATE, "_settings", settings)
    visible = oracle(emu, who)
    runner = CliRunner()
    for item in items[::3]:
        out = runner.invoke(app, ["search", item["title"], "--as", who, "--k", "5", "--json"])
        assert out.exit_code == 0, out.output
        data = json.loads(out.stdout)
        _check(who, item, out.stdout, {h["page_id"] for h in data["hits"]}, visible, items, "kb search --as")
        out = runner.invoke(app, ["ask", item["title"], "--as", who, "--k", "5", "--json"])
        assert out.exit_code == 0, out.output
        data = json.loads(out.stdout)
        _check(who, item, out.stdout, {h["page_id"] for h in data["hits"]}, visible, items, "kb ask --as")


def test_the_operator_cli_sees_everything_and_says_so(kb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import ingest.index.embed as embed
    from retrieval.cli.root import STATE, app

    _, settings, items = kb
    monkeypatch.setattr(embed, "load_embedder", lambda settings: FakeEmbedder())
    monkeypatch.setattr(STATE, "_settings", settings)
    restricted = next(i for i in items if i["title"].endswith(" priv-erin"))
    out = CliRunner().invoke(app, ["search", restricted["title"], "--json"])
    assert out.exit_code == 0 and restricted["id"] in out.stdout
    assert "searching as the operator" in out.stderr


def test_kb_access_explains_each_step(kb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from retrieval.cli.root import STATE, app

    _, settings, items = kb
    monkeypatch.setattr(STATE, "_settings", settings)
    grandchild = next(i for i in items if i["title"].endswith(" sec-grandchild"))
    runner = CliRunner()
    yes = runner.invoke(app, ["access", grandchild["id"], "--as", "alice@acl.test"])
    assert yes.exit_code == 0 and "MAY read" in yes.stdout and "member of sec" in yes.stdout
    no = runner.invoke(app, ["access", grandchild["id"], "--as", "bob@acl.test", "--json"])
    assert no.exit_code == 1
    data = json.loads(no.stdout)
    assert data["allowed"] is False
    failing = [s for s in data["steps"] if not s["ok"]]
    assert len(failing) == 1 and "ancestor" in failing[0]["check"]  # the grandparent's restriction
