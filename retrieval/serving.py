"""What the HTTP server needs that is not HTTP: the engine seam, follow-up queries, keys, rate limits.

No FastAPI here (that lives in `retrieval/server.py` only), so this is cheap to import and test.

- `Engine` is the seam the server talks to: `search`, `ask`, `status` (plain dicts out), an optional
  `rewrite` (an LLM that turns a follow-up into a standalone question) and `close`. `KBEngine`
  (retrieval/serve_engine.py) is the real one; tests inject small fakes.
- `standalone_query` makes a follow-up question searchable on its own (the documented rule below).
- `match_key` compares bearer keys in constant time; `RateLimiter` is a per-key token bucket.
"""

from __future__ import annotations

import hmac
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# A follow-up "needs its history" when it is short or leans on something said before.
FOLLOWUP_MAX_WORDS = 4
FOLLOWUP_WORDS = frozenset(
    "it its it's itself this that these those they them their theirs there he she him her his hers "
    "one ones same such former latter above previous else then".split())
FOLLOWUP_LEADS = ("and ", "also ", "what about", "how about", "and what", "then ", "so ", "but ",
                  "what else", "why not", "more on", "tell me more")
CONTEXT_MAX_WORDS = 60


class Engine(Protocol):
    """The seam between the HTTP layer and the knowledge base. All methods block; the server runs
    them in a worker thread. Results are plain JSON-ready dicts (the dataclasses' `to_dict()`)."""

    rewrite: Callable[[str, Sequence[dict[str, str]]], str] | None

    def search(self, query: str, *, k: int | None = None, filters: dict[str, Any] | None = None,
               mode: str | None = None) -> list[dict[str, Any]]: ...

    def ask(self, question: str, *, k: int | None = None, filters: dict[str, Any] | None = None,
            history: Sequence[dict[str, str]] | None = None) -> dict[str, Any]: ...

    def status(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


# -- follow-ups --------------------------------------------------------------------------------------
def needs_context(question: str) -> bool:
    """The rule: a follow-up is short (≤ 4 words), uses a pronoun-like word, or opens like "and …"."""
    text = question.strip().lower()
    words = re.findall(r"[a-z0-9']+", text)
    return (len(words) <= FOLLOWUP_MAX_WORDS or any(w in FOLLOWUP_WORDS for w in words)
            or text.startswith(FOLLOWUP_LEADS))


def _tail_words(text: str, n: int) -> str:
    words = text.split()
    return " ".join(words[-n:])


def rule_query(question: str, history: Sequence[dict[str, str]]) -> str:
    """The documented rule, applied turn by turn through the user messages of `history`:
    each user turn that `needs_context` is joined to the previous turn's standalone query
    (its last 60 words); any other turn stands alone. The result for `question` is returned."""
    context = ""
    for turn in [m.get("content", "") for m in history if m.get("role") == "user"] + [question]:
        turn = turn.strip()
        if not turn:
            continue
        context = f"{context} {turn}" if context and needs_context(turn) else turn
        context = _tail_words(context, CONTEXT_MAX_WORDS)
    return context or question


def standalone_query(question: str, history: Sequence[dict[str, str]] | None,
                     rewrite: Callable[[str, Sequence[dict[str, str]]], str] | None = None,
                     ) -> tuple[str, list[str]]:
    """The query to retrieve with for `question` after `history`, and any warnings.

    With no earlier user turn, the question itself. With an LLM (`rewrite`), its rewrite when it
    returns a non-empty line; on failure, the rule, with a warning."""
    history = list(history or [])
    if not any(m.get("role") == "user" and m.get("content", "").strip() for m in history):
        return question, []
    if rewrite is not None:
        try:
            text = " ".join(rewrite(question, history).split())
        except Exception as exc:  # any LLM failure falls back to the rule
            return rule_query(question, history), [f"follow-up rewrite failed ({type(exc).__name__}); "
                                                   "used the rule instead"]
        if text and len(text) <= 4 * max(len(question), 200):
            return text, []
        return rule_query(question, history), ["follow-up rewrite was empty or too long; used the rule"]
    return rule_query(question, history), []


# -- keys and rate limits -----------------------------------------------------------------------------
def match_key(presented: str, keys: Sequence[str]) -> int | None:
    """The index of the key equal to `presented`, compared in constant time against every key."""
    found: int | None = None
    given = presented.encode("utf-8")
    for i, key in enumerate(keys):
        if hmac.compare_digest(given, key.encode("utf-8")):
            found = i
    return found


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """A token bucket per caller: `per_minute` requests a minute, bursts up to `per_minute`.
    `per_minute <= 0` disables it."""

    MAX_CALLERS = 10_000

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(max(per_minute, 0))
        self.rate = self.capacity / 60.0
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, caller: str) -> float:
        """Take one token: 0.0 when allowed, else the seconds until the next token."""
        if self.capacity <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(caller)
            if bucket is None:
                if len(self._buckets) >= self.MAX_CALLERS:
                    self._prune(now)
                bucket = self._buckets[caller] = _Bucket(self.capacity, now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def _prune(self, now: float) -> None:
        """Forget callers whose bucket has refilled (they lose nothing by it)."""
        full = [c for c, b in self._buckets.items() if b.tokens + (now - b.stamp) * self.rate >= self.capacity]
        for caller in full:
            del self._buckets[caller]


_KEYLIKE = re.compile(r"\b(sk|pk|rk|xox[abp]|ghp|gho|AKIA)[-_A-Za-z0-9]{8,}")


def secrets_of(settings: Any) -> list[str]:
    """The configured secrets: the Confluence token, the LLM key, the server's API keys."""
    found = [settings.confluence.api_token.get_secret_value(), settings.llm.api_key.get_secret_value(),
             *settings.server.keys]
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def redact(text: str, secrets: Sequence[str]) -> str:
    """`text` with every configured secret, and anything shaped like a provider key, replaced by ***."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return _KEYLIKE.sub("***", text)


def retry_after_header(seconds: float) -> str:
    """Retry-After in whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
