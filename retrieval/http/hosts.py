"""The server's front door, before any route: which Host and Origin may talk to it, and no key in a URL.

`HostCheck` is pure ASGI and on in every mode (keys or none):
- Host: only the names the server is bound to answer (the bound address itself, the configured host
  name, `server.allowed_hosts`, and localhost/127.0.0.1/[::1] when bound to a loopback address). Any
  other Host gets 421: a browser page that rebinds `attacker.example` to 127.0.0.1 cannot read the
  knowledge base through the user's browser.
- Origin: a request that carries one must come from an allowed host or `server.cors_origins` (403).
- Keys travel only in `Authorization`: a query string that names a key (`api_key=`, `key=`, `token=`,
  …) is refused (400) and its value is cut from the query string *before* the access log sees it.

`"*"` in `server.allowed_hosts` switches the Host check off (behind a proxy that checks it).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
KEY_PARAMS = frozenset({"api_key", "apikey", "api-key", "key", "token", "access_token", "auth",
                        "authorization", "bearer", "password", "secret"})


def host_name(value: str) -> str:
    """The host part of a Host header or netloc, lower case, without port or IPv6 brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value[1:]
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def is_loopback(name: str) -> bool:
    """localhost, or a loopback IP address."""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class HostPolicy:
    """Which host names may be asked for: `allowed` (configured) plus the bound one(s)."""

    def __init__(self, bound_host: str, allowed: Iterable[str]) -> None:
        names = {host_name(a) for a in allowed if a.strip()}
        self.any = "*" in names
        self.names = names - {"*"}
        bound = host_name(bound_host)
        if bound and bound not in ("0.0.0.0", "::"):
            self.names.add(bound)
        if is_loopback(bound):
            self.names |= LOOPBACK_NAMES

    def allows(self, host: str, server: str | None) -> bool:
        """True when `host` (a Host header's name) is one of ours; `server` is the local address of
        this connection (from the ASGI scope): the address itself is always ours, and a loopback
        connection may use the loopback names."""
        if self.any or host in self.names:
            return True
        if server is None:
            return False
        local = host_name(server)
        return host == local or (is_loopback(local) and host in LOOPBACK_NAMES)


class HostCheck:
    """Pure ASGI: 421 on a foreign Host, 403 on a foreign Origin, 400 on a key in the query string."""

    def __init__(self, app: Callable[..., Any], policy: HostPolicy, cors_origins: Iterable[str] = ()) -> None:
        self.app, self.policy = app, policy
        self.origins = {o.rstrip("/").lower() for o in cors_origins}

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any],
                       send: Callable[..., Any]) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, error, guidance = refusal
        data = json.dumps({"error": error, "guidance": guidance}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})

    def _refusal(self, scope: dict[str, Any]) -> tuple[int, str, str] | None:
        if strip_key_params(scope):
            return (400, "API keys are not accepted in the URL",
                    "send the header `Authorization: Bearer <key>` instead (URLs end up in logs)")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        server = scope.get("server")
        local = str(server[0]) if server else None
        host = host_name(headers.get("host", ""))
        if not self.policy.allows(host, local):
            return (421, f"this server does not answer for host {host!r}",
                    "use the address the server is bound to, or add the name to server.allowed_hosts "
                    "(KB_SERVER__ALLOWED_HOSTS)")
        origin = headers.get("origin")
        if origin is not None and not self._origin_ok(origin, local):
            return (403, "cross-origin request refused",
                    "call from an allowed origin: add it to server.cors_origins (KB_SERVER__CORS_ORIGINS)")
        return None

    def _origin_ok(self, origin: str, local: str | None) -> bool:
        origin = origin.strip().rstrip("/").lower()
        if origin in self.origins or "*" in self.origins:
            return True
        parts = urlsplit(origin)
        return bool(parts.scheme in ("http", "https") and parts.netloc
                    and self.policy.allows(host_name(parts.netloc), local))


def strip_key_params(scope: dict[str, Any]) -> bool:
    """Cut every key-like parameter's value from scope["query_string"] (in place: the access log reads
    the same scope); True when there was one."""
    raw = scope.get("query_string") or b""
    if not raw:
        return False
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    if not any(name.lower() in KEY_PARAMS for name, _ in pairs):
        return False
    kept = [(n, "***" if n.lower() in KEY_PARAMS else v) for n, v in pairs]
    scope["query_string"] = urlencode(kept, safe="*").encode("latin-1")
    return True
