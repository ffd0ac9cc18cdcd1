"""The server's guards, none of them FastAPI: a pure ASGI `Guard` (the body limit, 413, before anything
parses a body, and the last word on unexpected exceptions: a 500 `{error, guidance}` and one log line
with the exception's type only: no traceback, no message that might hold a token or key); bearer keys
compared in constant time (`match_key`); a per-key token bucket (`RateLimiter`); redaction of every
configured secret (`secrets_of`, `redact`)."""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ingest.config import Settings

log = logging.getLogger("kb.server")


class Guard:
    """Pure ASGI: refuse bodies over `max_body` (413) before anything parses them, and turn an
    unexpected exception into a 500 {error, guidance} with a one-line log (no traceback)."""

    def __init__(self, app: Callable[..., Any], max_body: int) -> None:
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any],
                       send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            body = await self._read(scope, receive)
            if body is None:
                await _send_json(send, 413, {"error": "request body is too large",
                                             "guidance": f"keep it under {self.max_body} bytes"})
                return
            replayed = False

            async def replay() -> dict[str, Any]:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()  # type: ignore[no-any-return]

            await self.app(scope, replay, tracked_send)
        except Exception as exc:
            log.error("unexpected %s on %s %s", type(exc).__name__, scope.get("method"), scope.get("path"))
            if not started:
                await _send_json(send, 500, {"error": "internal error",
                                             "guidance": "retry; if it persists, see the server log"})

    async def _read(self, scope: dict[str, Any], receive: Callable[..., Any]) -> bytes | None:
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body:
                return None
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)


async def _send_json(send: Callable[..., Any], status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


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
        full = [c for c, b in self._buckets.items()
                if b.tokens + (now - b.stamp) * self.rate >= self.capacity]
        for caller in full:
            del self._buckets[caller]


_KEYLIKE = re.compile(r"\b(sk|pk|rk|xox[abp]|ghp|gho|AKIA)[-_A-Za-z0-9]{8,}")


def secrets_of(settings: Settings) -> list[str]:
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


def scrub(text: str, settings: Settings) -> str:
    """`text` without filesystem paths the server knows (data dir, its parent, home, working dir):
    a caller has no use for them and they tell an attacker about the host."""
    import os
    from pathlib import Path

    paths = {str(settings.data_dir), str(settings.data.dir), str(settings.data_dir.parent),
             str(Path.home()), os.getcwd()}
    for path in sorted((p for p in paths if len(p) > 1), key=len, reverse=True):
        text = text.replace(path, "<data dir>" if path in (str(settings.data_dir), str(settings.data.dir))
                            else "<path>")
    return text
