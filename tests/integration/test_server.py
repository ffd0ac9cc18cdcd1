"""The HTTP layer of `kb serve` over real HTTP (uvicorn on a free port, httpx), with a small fake engine.

The fake is a word-overlap search over four pages: enough to show auth, shapes, streaming, follow-ups,
limits and errors without a model. tests/test_server_kb.py runs the real engine on the sample space.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.config import load_settings
from ingest.errors import ConfigError, NotReady
from retrieval.http.app import check_exposure, create_app, running_server
from tests.helpers import (
    AUTH,
    CONFLUENCE_TOKEN,
    KEY,
    LLM_KEY,
    OTHER_KEY,
    FakeEngine,
    api_settings,
    error_body,
    sse_events,
)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """serve(engine=None, **server settings) -> base URL of a running server; all stopped at the end."""
    stack: list[Any] = []

    def start(engine: Any = None, **server: Any) -> str:
        cm = running_server(create_app(api_settings(tmp_path, **server), engine=engine or FakeEngine()))
        stack.append(cm)
        return cm.__enter__()

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


@pytest.fixture
def url(serve: Any) -> str:
    return serve()  # type: ignore[no-any-return]


# -- auth --------------------------------------------------------------------------------------------
def test_healthz_needs_no_key_and_v1_needs_the_right_one(url: str) -> None:
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    missing = httpx.get(f"{url}/v1/status")
    assert error_body(missing, 401)["error"] == "missing API key"
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = httpx.get(f"{url}/v1/status", headers={"Authorization": "Bearer nope"})
    assert error_body(wrong, 401)["error"] == "invalid API key"
    assert KEY not in wrong.text and "nope" not in wrong.text
    basic = httpx.get(f"{url}/v1/status", headers={"Authorization": f"Basic {KEY}"})
    error_body(basic, 401)
    for key in (KEY, OTHER_KEY):
        assert httpx.get(f"{url}/v1/status", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert httpx.post(f"{url}/v1/search", json={"query": "vpn"}).status_code == 401


def test_no_keys_is_allowed_on_loopback_only(tmp_path: Path, serve: Any) -> None:
    open_url = serve(api_keys="")
    assert httpx.post(f"{open_url}/v1/search", json={"query": "vpn"}).status_code == 200
    bare = load_settings(data={"dir": str(tmp_path)}, server={"api_keys": ""})
    check_exposure(bare, "127.0.0.1")
    check_exposure(bare, "localhost")
    with pytest.raises(ConfigError, match="without an API key"):
        check_exposure(bare, "0.0.0.0")
    check_exposure(api_settings(tmp_path), "0.0.0.0")


# -- shapes ------------------------------------------------------------------------------------------
def test_search_ask_and_status_shapes(url: str) -> None:
    search = httpx.post(f"{url}/v1/search", headers=AUTH, json={"query": "rotate vpn certificate", "k": 2})
    assert search.status_code == 200
    body = search.json()
    assert body["query"] == "rotate vpn certificate" and isinstance(body["took_ms"], float)
    assert body["hits"][0]["page_id"] == "101"
    assert set(body["hits"][0]) >= {"chunk_id", "page_id", "title", "url", "text", "score", "ranks"}

    ask = httpx.post(f"{url}/v1/ask", headers=AUTH, json={"question": "How do I rotate the VPN certificate?"})
    answer = ask.json()
    assert set(answer) >= {"text", "citations", "hits", "confidence", "not_found", "warnings", "query"}
    assert "[1]" in answer["text"] and not answer["not_found"]
    assert answer["citations"][0] == {"number": 1, "title": "VPN access", "url": "https://wiki.test/101",
                                      "chunk_id": "101:0", "quote": answer["citations"][0]["quote"]}
    assert answer["query"] == "How do I rotate the VPN certificate?"

    status = httpx.get(f"{url}/v1/status", headers=AUTH).json()
    assert status["ready"] is True and status["chunks"] == 4 and status["spaces"] == ["ENG"]


def test_filters_reach_the_engine_and_bad_ones_are_422(url: str) -> None:
    body = {"query": "release vpn", "filters": {"page_ids": ["102"]}}
    hits = httpx.post(f"{url}/v1/search", headers=AUTH, json=body).json()["hits"]
    assert [h["page_id"] for h in hits] == ["102"]
    bad_date = {"query": "x", "filters": {"updated_after": "last tuesday"}}
    assert "updated_after" in error_body(httpx.post(f"{url}/v1/search", headers=AUTH, json=bad_date),
                                         422)["error"]
    unknown = {"query": "x", "filters": {"colour": ["red"]}}
    error_body(httpx.post(f"{url}/v1/search", headers=AUTH, json=unknown), 422)


def test_openapi_is_off_by_default_and_behind_the_key_when_on(url: str, serve: Any) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert httpx.get(f"{url}{path}", headers=AUTH).status_code == 404
    docs_url = serve(docs=True)
    assert httpx.get(f"{docs_url}/openapi.json").status_code == 401
    assert httpx.get(f"{docs_url}/docs", headers=AUTH).status_code == 404  # no Swagger UI: no CDN
    paths = httpx.get(f"{docs_url}/openapi.json", headers=AUTH).json()["paths"]
    assert {"/v1/ask", "/v1/search", "/v1/status", "/v1/chat/completions", "/healthz"} <= set(paths)


# -- streaming -----------------------------------------------------------------------------------------
def test_streamed_answer_reassembles_to_the_plain_one(url: str) -> None:
    question = {"question": "Who answers on-call pages and how fast?"}
    plain = httpx.post(f"{url}/v1/ask", headers=AUTH, json=question).json()
    for extra, headers in (({"stream": True}, AUTH), ({}, {**AUTH, "Accept": "text/event-stream"})):
        resp = httpx.post(f"{url}/v1/ask", headers=headers, json={**question, **extra})
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = sse_events(resp.text)
        names = [name for name, _ in events]
        assert names[0] == "hits" and names[-2:] == ["citations", "done"]
        assert set(names[1:-2]) == {"delta"} and len(names) > 4
        data = [json.loads(d) for _, d in events]
        assert data[0]["hits"] == plain["hits"]
        assert "".join(d["text"] for d in data[1:-2]) == plain["text"]
        assert data[-2]["citations"] == plain["citations"]
        assert data[-1]["not_found"] is False and data[-1]["query"] == plain["query"]


class StepEngine(FakeEngine):
    """Answers in steps like the real engine: hits first, then the answer (or a failure)."""

    def __init__(self, fail_answer: Exception | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.fail_answer = fail_answer

    def ask_events(self, question: str, *, principal: Any = None, k: int | None = None,
                   filters: dict[str, Any] | None = None,
                   history: Sequence[dict[str, str]] | None = None) -> Iterator[tuple[str, Any]]:
        answer = self.ask(question, k=k, filters=filters, history=history, principal=principal)
        yield "hits", answer["hits"]
        if self.fail_answer:
            raise self.fail_answer
        yield "answer", answer


def test_stepped_stream_sends_hits_first_and_ends_with_an_error_event_on_failure(serve: Any) -> None:
    question = {"question": "Who answers on-call pages and how fast?", "stream": True}
    url = serve(engine=StepEngine())
    plain = httpx.post(f"{url}/v1/ask", headers=AUTH, json={**question, "stream": False}).json()
    events = sse_events(httpx.post(f"{url}/v1/ask", headers=AUTH, json=question).text)
    data = [json.loads(d) for _, d in events]
    assert data[0]["hits"] == plain["hits"] and events[-1][0] == "done"
    assert "".join(d["text"] for (name, _), d in zip(events, data, strict=True) if name == "delta") \
        == plain["text"]

    broken = serve(engine=StepEngine(NotReady(f"LLM refused key {LLM_KEY}", "check [llm]")))
    events = sse_events(httpx.post(f"{broken}/v1/ask", headers=AUTH, json=question).text)
    assert [name for name, _ in events] == ["hits", "error"]
    assert json.loads(events[-1][1]) == {"error": "LLM refused key ***", "guidance": "check [llm]"}
    empty = NotReady("the knowledge base is empty", "run `kb ingest` first")
    not_ready = serve(engine=StepEngine(fail=empty))
    error_body(httpx.post(f"{not_ready}/v1/ask", headers=AUTH, json=question), 503)


# -- follow-ups ----------------------------------------------------------------------------------------
def test_follow_up_finds_the_page_only_through_its_history(url: str) -> None:
    follow_up = "How often must it be rotated?"
    alone = httpx.post(f"{url}/v1/ask", headers=AUTH, json={"question": follow_up}).json()
    assert all(h["page_id"] != "101" for h in alone["hits"])
    history = [{"role": "user", "content": "Where is the VPN certificate documented?"},
               {"role": "assistant", "content": "See VPN access [1]."}]
    answer = httpx.post(f"{url}/v1/ask", headers=AUTH,
                        json={"question": follow_up, "history": history}).json()
    assert answer["hits"][0]["page_id"] == "101"
    assert answer["query"] == "Where is the VPN certificate documented? How often must it be rotated?"
    fresh = "Which day of the week are releases cut from main?"
    standalone = httpx.post(f"{url}/v1/ask", headers=AUTH,
                            json={"question": fresh, "history": history}).json()
    assert standalone["query"] == fresh and standalone["hits"][0]["page_id"] == "102"


# -- limits and errors -----------------------------------------------------------------------------------
def test_oversize_malformed_and_invalid_bodies_get_clear_json_errors(serve: Any) -> None:
    url = serve(max_body_bytes=2048, max_question_chars=100)
    big = {"question": "x" * 5000}
    assert "too large" in error_body(httpx.post(f"{url}/v1/ask", headers=AUTH, json=big), 413)["error"]

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit is counted as the body arrives
        yield b'{"question": "'
        for _ in range(10):
            yield b"y" * 500
        yield b'"}'

    error_body(httpx.post(f"{url}/v1/ask", headers=AUTH, content=chunked()), 413)
    malformed = httpx.post(f"{url}/v1/ask", headers={**AUTH, "Content-Type": "application/json"},
                           content=b'{"question": "vpn",')
    assert error_body(malformed, 400)["error"] == "request body is not valid JSON"
    long_q = error_body(httpx.post(f"{url}/v1/ask", headers=AUTH, json={"question": "z" * 101}), 422)
    assert "too long" in long_q["error"] and "100" in long_q["guidance"]
    assert "question" in error_body(httpx.post(f"{url}/v1/ask", headers=AUTH, json={"k": 3}), 422)["error"]
    error_body(httpx.post(f"{url}/v1/ask", headers=AUTH, json={"question": "vpn", "k": "many"}), 422)
    assert error_body(httpx.post(f"{url}/v1/ask", headers=AUTH, json=["vpn"]), 422)["error"] == \
        "request body must be a JSON object"
    form = httpx.post(f"{url}/v1/ask", headers=AUTH, data={"question": "vpn"})  # curl -d without -H
    assert "Content-Type: application/json" in error_body(form, 422)["guidance"]
    error_body(httpx.get(f"{url}/v1/nowhere", headers=AUTH), 404)
    error_body(httpx.get(f"{url}/v1/ask", headers=AUTH), 405)


def test_rate_limit_per_key_answers_429_with_retry_after(serve: Any) -> None:
    url = serve(rate_limit_per_minute=3)
    codes = [httpx.get(f"{url}/v1/status", headers=AUTH).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = httpx.get(f"{url}/v1/status", headers=AUTH)
    assert error_body(limited, 429)["error"] == "rate limit exceeded"
    assert int(limited.headers["retry-after"]) >= 1
    other = httpx.get(f"{url}/v1/status", headers={"Authorization": f"Bearer {OTHER_KEY}"})
    assert other.status_code == 200  # each key has its own bucket
    assert httpx.get(f"{url}/healthz").status_code == 200  # health checks are never limited
    guesses = [httpx.get(f"{url}/v1/status", headers={"Authorization": f"Bearer guess{i}"}).status_code
               for i in range(4)]
    assert guesses == [401, 401, 401, 429]  # guessing keys is limited per client address


def test_engine_errors_map_to_status_without_secrets(serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    not_ready = serve(engine=FakeEngine(NotReady("the knowledge base is empty", "run `kb ingest` first")))
    body = error_body(httpx.post(f"{not_ready}/v1/search", headers=AUTH, json={"query": "vpn"}), 503)
    assert body == {"error": "the knowledge base is empty", "guidance": "run `kb ingest` first"}
    caplog.set_level(logging.INFO)
    secret = "confluence-token-S3CR3T"
    broken = serve(engine=FakeEngine(RuntimeError(f"auth failed with api_token={secret}")))
    resp = httpx.post(f"{broken}/v1/search", headers=AUTH, json={"query": "vpn"})
    assert error_body(resp, 500) == {"error": "internal error",
                                     "guidance": "retry; if it persists, see the server log"}
    assert secret not in resp.text
    assert "RuntimeError" in caplog.text
    for leak in (secret, KEY, "Traceback"):
        assert leak not in caplog.text


def test_secrets_are_redacted_from_warnings_and_errors(serve: Any) -> None:
    leaky = [f"the LLM failed (AuthenticationError: Incorrect API key provided: {LLM_KEY})",
             "the LLM failed (AuthenticationError: key sk-proj-abcdefghijklmnop is invalid)"]
    url = serve(engine=FakeEngine(warnings=leaky))
    resp = httpx.post(f"{url}/v1/ask", headers=AUTH,
                      json={"question": "How do I rotate the VPN certificate?"})
    assert resp.status_code == 200 and resp.json()["warnings"][0].endswith("provided: ***)")
    assert LLM_KEY not in resp.text and "sk-proj-abcdefghijklmnop" not in resp.text
    failing = serve(engine=FakeEngine(NotReady(f"login with token {CONFLUENCE_TOKEN} refused", f"not {KEY}")))
    resp = httpx.post(f"{failing}/v1/search", headers=AUTH, json={"query": "vpn"})
    assert error_body(resp, 503) == {"error": "login with token *** refused", "guidance": "not ***"}


def test_cors_is_closed_by_default_and_follows_the_settings(serve: Any) -> None:
    preflight = {"Origin": "https://chat.example", "Access-Control-Request-Method": "POST"}
    closed = serve()
    resp = httpx.options(f"{closed}/v1/ask", headers=preflight)
    assert "access-control-allow-origin" not in resp.headers
    opened = serve(cors_origins=["https://chat.example"])
    asks_auth = {**preflight, "Access-Control-Request-Headers": "authorization"}
    resp = httpx.options(f"{opened}/v1/ask", headers=asks_auth)
    assert resp.headers["access-control-allow-origin"] == "https://chat.example"
    other = httpx.options(f"{opened}/v1/ask", headers={**preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
