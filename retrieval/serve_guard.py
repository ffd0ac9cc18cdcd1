"""A pure ASGI guard for the server: the body limit (413) before anything parses a body, and the last
word on unexpected exceptions (a 500 `{error, guidance}` and one log line with the exception's type
only: no traceback, no message that might hold a token or key)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

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
