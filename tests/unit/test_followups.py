"""Follow-up queries, bearer keys, the rate limiter and the OpenAI stream's pieces: no server."""

from __future__ import annotations

from typing import Any

import pytest

from retrieval.http.guard import RateLimiter, match_key
from retrieval.http.openai_shape import pieces
from retrieval.query.followups import needs_context, rule_query, standalone_query


def test_follow_up_rule() -> None:
    assert needs_context("And the staging one?") and needs_context("How often must it be rotated?")
    assert not needs_context("Which day of the week are releases cut from main?")
    history = [{"role": "user", "content": "How do I get VPN access?"},
               {"role": "assistant", "content": "Ask IT [1]."},
               {"role": "user", "content": "How long does that take?"}]
    assert rule_query("And who approves it?", history) == \
        "How do I get VPN access? How long does that take? And who approves it?"
    assert standalone_query("vpn?", [], None) == ("vpn?", [])
    assert standalone_query("And why?", history, lambda q, h: "Why is VPN access needed?") == \
        ("Why is VPN access needed?", [])

    def broken(question: str, history: Any) -> str:
        raise TimeoutError("llm down")

    query, warnings = standalone_query("And why?", history, broken)
    assert query.endswith("And why?") and "TimeoutError" in warnings[0]
    long_history = [{"role": "user", "content": f"and then step {i} of it"} for i in range(40)]
    assert len(rule_query("and it?", long_history).split()) <= 60


def test_keys_rate_limiter_and_pieces() -> None:
    assert match_key("b", ["a", "b"]) == 1 and match_key("c", ["a", "b"]) is None
    assert match_key("", ["a"]) is None
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])
    assert [limiter.acquire("k") for _ in range(60)] == [0.0] * 60
    assert limiter.acquire("k") == pytest.approx(1.0)
    assert limiter.acquire("other") == 0.0
    now[0] += 1.0
    assert limiter.acquire("k") == 0.0
    assert RateLimiter(0).acquire("k") == 0.0
    text = "  Two  spaces,\nnew lines [1].\n\nSources: x "
    assert "".join(pieces(text)) == text and len(list(pieces(text))) > 1
