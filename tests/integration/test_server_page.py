"""The chat page's HTTP side, without a browser (tests/integration/test_chat_page.py drives it in one):
`GET /` and its static files need no key and come with a strict policy; every piece of data still needs
the key; the answer stream's last event names the closest pages for the not-found state."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingest.config import load_settings
from retrieval.http.app import create_app, running_server
from retrieval.http.page import STATIC
from tests.helpers import AUTH, ROOT, FakeEngine, api_settings, sse_events


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    with running_server(create_app(api_settings(tmp_path), engine=FakeEngine())) as base:
        yield base


def test_the_page_and_its_files_need_no_key_and_carry_a_strict_policy(url: str) -> None:
    page = httpx.get(f"{url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "<script" in page.text and not re.search(r"<script>(?!\s*</script>)", page.text)  # no inline code
    assert not re.search(r"https?://", page.text.replace("http://www.w3.org", ""))  # no CDN
    for name in re.findall(r'(?:src|href)="/static/([^"]+)"', page.text):
        asset = httpx.get(f"{url}/static/{name}")
        assert asset.status_code == 200 and asset.content, name
        assert asset.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(f"{url}/static/chat.js").headers["content-type"].split(";")[0] in (
        "text/javascript", "application/javascript")
    assert httpx.get(f"{url}/static/%2e%2e/app.py").status_code == 404
    assert httpx.get(f"{url}/page/config").json() == {"key_required": True}


def test_the_data_behind_the_page_still_needs_the_key(url: str) -> None:
    assert httpx.get(f"{url}/v1/status").status_code == 401
    assert httpx.post(f"{url}/v1/ask", json={"question": "vpn", "stream": True}).status_code == 401
    assert httpx.get(f"{url}/v1/status", headers=AUTH).status_code == 200


def test_without_configured_keys_the_page_does_not_ask_for_one(tmp_path: Path) -> None:
    settings = load_settings(data={"dir": str(tmp_path)})
    with running_server(create_app(settings, engine=FakeEngine())) as base:
        assert httpx.get(f"{base}/page/config").json() == {"key_required": False}


def test_the_stream_ends_with_the_closest_pages(url: str) -> None:
    body = {"question": "zebra manifesto", "stream": True}
    resp = httpx.post(f"{url}/v1/ask", headers=AUTH, json=body)
    done = json.loads(sse_events(resp.text)[-1][1])
    assert done["not_found"] is True and "closest" in done


def test_the_page_ships_in_the_package() -> None:
    """pyproject's package data carries static/ (an installed kb serve must find its page)."""
    assert {p.name for p in STATIC.iterdir()} >= {"index.html", "chat.css", "chat.js", "favicon.svg"}
    assert '"retrieval.http" = ["static/*"]' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
