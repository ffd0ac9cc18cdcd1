"""Hostile review, the server (issue 17): DNS rebinding, keys in URLs, open docs, paths, unknown models.

Real uvicorn on a loopback port, hit with httpx; the fake engine from tests.helpers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.errors import NotReady
from retrieval.http.app import create_app, running_server
from retrieval.http.hosts import HostPolicy, host_name
from tests.helpers import AUTH, KEY, FakeEngine, api_settings, error_body


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """serve(engine=None, log_level=..., **server settings) -> base URL; all stopped at the end."""
    stack: list[Any] = []

    def start(engine: Any = None, log_level: str = "warning", **server: Any) -> str:
        app = create_app(api_settings(tmp_path, **server), engine=engine or FakeEngine())
        cm = running_server(app, log_level=log_level)
        stack.append(cm)
        return cm.__enter__()

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


def _port(url: str) -> str:
    return url.rsplit(":", 1)[1]


def test_a_foreign_host_is_refused_in_no_key_mode(serve: Any) -> None:
    """DNS rebinding: attacker.example resolved to 127.0.0.1 must not read the knowledge base."""
    url = serve(api_keys="")
    port = _port(url)
    for path in ("/v1/status", "/healthz"):
        refused = httpx.get(f"{url}{path}", headers={"Host": f"attacker.example:{port}"})
        assert "attacker.example" in error_body(refused, 421)["error"]
        assert "chunks" not in refused.text
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "localhost"):
        assert httpx.get(f"{url}/v1/status", headers={"Host": host}).status_code == 200, host


def test_a_foreign_host_is_refused_with_keys_too_and_allowed_hosts_extend(serve: Any) -> None:
    url = serve(allowed_hosts="kb.internal, wiki-bot.example")
    port = _port(url)
    error_body(httpx.get(f"{url}/v1/status", headers={**AUTH, "Host": "evil.example"}), 421)
    for host in (f"kb.internal:{port}", "WIKI-BOT.example", f"127.0.0.1:{port}"):
        assert httpx.get(f"{url}/v1/status", headers={**AUTH, "Host": host}).status_code == 200, host
    error_body(httpx.get(f"{url}/v1/status", headers={**AUTH, "Host": ""}), 421)


def test_a_foreign_origin_is_refused(serve: Any) -> None:
    url = serve(api_keys="", cors_origins="https://chat.example")
    port = _port(url)
    foreign = httpx.get(f"{url}/v1/status", headers={"Origin": "http://attacker.example"})
    error_body(foreign, 403)
    error_body(httpx.get(f"{url}/v1/status", headers={"Origin": "null"}), 403)
    for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}", "https://chat.example"):
        assert httpx.get(f"{url}/v1/status", headers={"Origin": origin}).status_code == 200, origin


def test_host_policy_units() -> None:
    assert host_name("[::1]:8000") == "::1" and host_name("Kb.Example.:80") == "kb.example"
    wild = HostPolicy("0.0.0.0", [])
    assert wild.allows("10.1.2.3", "10.1.2.3") and not wild.allows("attacker.example", "10.1.2.3")
    assert not wild.allows("localhost", "10.1.2.3")  # bound everywhere, reached from outside
    assert HostPolicy("0.0.0.0", ["*"]).allows("anything.example", None)
    assert HostPolicy("kb.corp", []).allows("kb.corp", None)


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_a_key_in_the_query_string_is_refused_and_never_logged(serve: Any) -> None:
    url = serve(log_level="info")
    access = logging.getLogger("uvicorn.access")
    lines = _Lines()
    access.addHandler(lines)
    try:
        for param in ("api_key", "key", "token"):
            refused = httpx.get(f"{url}/v1/status", params={param: KEY})
            assert "Authorization" in error_body(refused, 400)["guidance"]
        header_ok = httpx.get(f"{url}/v1/status", headers=AUTH)
        assert header_ok.status_code == 200
    finally:
        access.removeHandler(lines)
    assert len(lines.lines) >= 4, lines.lines  # the access log did run
    assert not [line for line in lines.lines if KEY in line], lines.lines
    assert any("api_key=***" in line for line in lines.lines), lines.lines


def test_no_filesystem_path_in_status_or_errors(tmp_path: Path, serve: Any) -> None:
    from retrieval.http.engine import KBEngine

    settings = api_settings(tmp_path)
    engine = KBEngine(settings)  # not opened: status reads the (empty) ledger, search fails NotReady
    url = serve(engine=engine)
    status = httpx.get(f"{url}/v1/status", headers=AUTH)
    assert status.status_code == 200
    assert str(tmp_path) not in status.text and "data_dir" not in status.json()
    failing = serve(engine=FakeEngine(fail=NotReady(f"no index at {settings.data_dir}",
                                                    f"run kb ingest with data.dir {settings.data_dir}")))
    body = error_body(httpx.post(f"{failing}/v1/search", headers=AUTH, json={"query": "vpn"}), 503)
    assert str(tmp_path) not in str(body) and "<data dir>" in body["error"]


def test_an_unknown_model_gets_openais_404(serve: Any) -> None:
    url = serve()
    message = [{"role": "user", "content": "How do I rotate the VPN certificate?"}]
    unknown = httpx.post(f"{url}/v1/chat/completions", headers=AUTH,
                         json={"model": "gpt-4", "messages": message})
    assert unknown.status_code == 404
    error = unknown.json()["error"]
    assert error["code"] == "model_not_found" and error["param"] == "model" and "gpt-4" in error["message"]
    assert error["type"] == "invalid_request_error"
    ours = httpx.post(f"{url}/v1/chat/completions", headers=AUTH,
                      json={"model": "confluence-kb", "messages": message})
    assert ours.status_code == 200 and ours.json()["model"] == "confluence-kb"
