"""Who the server searches as: key roles (anonymous, fixed user, backend, operator), the `user`
field on every endpoint, and refusals. Over real HTTP, with an engine that records the principal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.access.rules import ANONYMOUS
from ingest.errors import ConfigError
from retrieval.http.app import create_app, running_server
from tests.helpers import FakeEngine, api_settings, error_body

PLAIN, FIXED = "key-plain-1a2b3c", "key-fixed-4d5e6f"
BACKEND, OPERATOR = "key-backend-7a8b9c", "key-op-0d1e2f"
KEYS = f"{PLAIN},{FIXED}=user:alice@corvid.example,{BACKEND}=backend,{OPERATOR}=operator"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, FakeEngine]]:
    engine = FakeEngine()
    with running_server(create_app(api_settings(tmp_path, api_keys=KEYS), engine=engine)) as url:
        yield url, engine


def _calls(url: str, key: str, user: str | None) -> list[httpx.Response]:
    auth = {"Authorization": f"Bearer {key}"}
    extra = {"user": user} if user else {}
    return [
        httpx.post(f"{url}/v1/search", headers=auth, json={"query": "on-call", **extra}),
        httpx.post(f"{url}/v1/ask", headers=auth, json={"question": "who is on call?", **extra}),
        httpx.post(f"{url}/v1/ask", headers=auth,
                   json={"question": "who is on call?", "stream": True, **extra}),
        httpx.post(f"{url}/v1/chat/completions", headers=auth,
                   json={"model": "confluence-kb", "messages": [{"role": "user", "content": "on-call?"}],
                         **extra}),
    ]


@pytest.mark.parametrize(("key", "user", "expected"), [
    (PLAIN, None, ANONYMOUS),
    (FIXED, None, "alice@corvid.example"),
    (BACKEND, None, ANONYMOUS),
    (BACKEND, "bob@corvid.example", "bob@corvid.example"),
    (OPERATOR, None, None),
])
def test_every_endpoint_searches_as_the_key_says(server: tuple[str, FakeEngine], key: str, user: str | None,
                                                 expected: Any) -> None:
    url, engine = server
    for resp in _calls(url, key, user):
        assert resp.status_code == 200, resp.text
    assert engine.principals and all(p == expected for p in engine.principals), engine.principals


@pytest.mark.parametrize("key", [PLAIN, FIXED, OPERATOR])
def test_naming_a_user_with_a_fixed_key_is_refused_everywhere(server: tuple[str, FakeEngine],
                                                               key: str) -> None:
    url, engine = server
    for resp in _calls(url, key, "bob@corvid.example"):
        assert "may not name the user" in error_body(resp, 403)["error"]
    assert engine.principals == []  # refused before any search


def test_an_unknown_key_role_stops_the_server_from_starting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown role 'admin'"):
        create_app(api_settings(tmp_path, api_keys="k-123456=admin"), engine=FakeEngine())


def test_without_keys_on_loopback_the_caller_may_name_the_user(tmp_path: Path) -> None:
    engine = FakeEngine()
    with running_server(create_app(api_settings(tmp_path, api_keys=""), engine=engine)) as url:
        httpx.post(f"{url}/v1/search", json={"query": "on-call"}).raise_for_status()
        named = {"query": "on-call", "user": "carol@corvid.example"}
        httpx.post(f"{url}/v1/search", json=named).raise_for_status()
    assert engine.principals == [ANONYMOUS, "carol@corvid.example"]


def test_status_says_who_the_key_searches_as(server: tuple[str, FakeEngine]) -> None:
    url, _ = server
    seen = {key: httpx.get(f"{url}/v1/status", headers={"Authorization": f"Bearer {key}"}).json()["caller"]
            for key in (PLAIN, FIXED, BACKEND, OPERATOR)}
    assert seen[PLAIN] == {"principal": "anonymous", "may_name_user": False}
    assert seen[FIXED] == {"principal": "alice@corvid.example", "may_name_user": False}
    assert seen[BACKEND] == {"principal": "anonymous", "may_name_user": True}
    assert seen[OPERATOR]["principal"].startswith("operator")
