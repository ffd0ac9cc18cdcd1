"""`/v1/chat/completions` through the official `openai` client pointed at a local `kb serve`, and the
pure parts of the server (follow-up rule, keys, rate limiter) without HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from retrieval.http.app import create_app, running_server
from tests.helpers import AUTH, KEY, FakeEngine, api_settings

openai = pytest.importorskip("openai")


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    with running_server(create_app(api_settings(tmp_path), engine=FakeEngine())) as base:
        yield base


@pytest.fixture
def client(url: str) -> Any:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0, timeout=30)


def test_chat_completion_carries_citations_as_links_and_data(client: Any) -> None:
    resp = client.chat.completions.create(
        model="confluence-kb", messages=[{"role": "system", "content": "Be brief."},
                                         {"role": "user", "content": "How do I rotate the VPN certificate?"}])
    assert resp.object == "chat.completion" and resp.model == "confluence-kb"
    text = resp.choices[0].message.content
    assert resp.choices[0].finish_reason == "stop" and resp.choices[0].message.role == "assistant"
    assert "[1]" in text and "Sources:\n[1] [VPN access](https://wiki.test/101)" in text
    citations = resp.model_extra["citations"]
    assert citations[0]["url"] == "https://wiki.test/101" and citations[0]["number"] == 1
    assert resp.usage.total_tokens > 0


def test_chat_completion_streams_chunks_that_reassemble(client: Any, url: str) -> None:
    messages = [{"role": "user", "content": "Who answers on-call pages?"}]
    plain = client.chat.completions.create(model="confluence-kb", messages=messages)
    stream = client.chat.completions.create(model="confluence-kb", messages=messages, stream=True)
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" and c.model == "confluence-kb" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == plain.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["citations"] == plain.model_extra["citations"]
    raw = httpx.post(f"{url}/v1/chat/completions", headers=AUTH, json={"messages": messages, "stream": True})
    assert raw.text.rstrip().endswith("data: [DONE]")


def test_chat_follow_up_uses_the_conversation(client: Any) -> None:
    first = client.chat.completions.create(
        model="confluence-kb",
        messages=[{"role": "user", "content": "Where is the VPN certificate documented?"}])
    follow = client.chat.completions.create(model="confluence-kb", messages=[
        {"role": "user", "content": "Where is the VPN certificate documented?"},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": [{"type": "text", "text": "How often must it be rotated?"}]}])
    assert follow.model_extra["citations"][0]["title"] == "VPN access"
    assert follow.model_extra["query"].endswith("How often must it be rotated?")


def test_chat_errors_reach_the_client_as_status_errors(url: str) -> None:
    bad_key = openai.OpenAI(base_url=f"{url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad_key.chat.completions.create(model="confluence-kb", messages=[{"role": "user", "content": "vpn"}])
    good = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)
    with pytest.raises(openai.UnprocessableEntityError):
        good.chat.completions.create(model="confluence-kb", messages=[{"role": "system", "content": "hi"}])
    assert [m.id for m in good.models.list()] == ["confluence-kb"]


# -- pure parts ---------------------------------------------------------------------------------------


