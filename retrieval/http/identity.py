"""Who is calling the server, and as whom it searches.

Each entry of KB_SERVER__API_KEYS is `KEY` or `KEY=ROLE` (see `ServerSettings.key_entries`):
- `KEY` alone: sees only what anonymous users may see (the fail-closed default);
- `KEY=user:EMAIL_OR_ACCOUNT_ID`: a fixed principal, for a front-end that serves one person or team;
- `KEY=backend`: a trusted backend that names the person per request (`user` in /v1/search and
  /v1/ask, OpenAI's own `user` field in /v1/chat/completions); a request that names nobody sees what
  anonymous users may see;
- `KEY=operator`: every page the ingest account can read (an administrator's own key).
A request that names a user with any key but a backend key is refused (403). With no key configured
(loopback only) the server behaves as one backend key: the caller may name the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ingest.access.rules import ANONYMOUS
from ingest.config import Settings
from ingest.errors import ConfigError, KBError
from retrieval.http.guard import match_key, retry_after_header

ROLES = ("", "backend", "operator")


class Unauthorized(KBError):
    http_status = 401
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": "Bearer"}


class Forbidden(KBError):
    http_status = 403


class RateLimited(KBError):
    http_status = 429


def check_roles(settings: Settings) -> None:
    """Refuse to start with a key role the server does not know."""
    for index, (_, role) in enumerate(settings.server.key_entries):
        if role in ROLES or (role.startswith("user:") and role[5:].strip()):
            continue
        raise ConfigError(f"KB_SERVER__API_KEYS entry #{index} has an unknown role {role!r}",
                          "write KEY, KEY=user:EMAIL_OR_ACCOUNT_ID, KEY=backend or KEY=operator")


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: its id for rate limits and logs (never the key) and its key's role."""

    id: str
    role: str

    def principal(self, requested: str | None) -> Any:
        """What the engine searches as: None (the operator), ANONYMOUS, or an email / account id."""
        requested = (requested or "").strip() or None
        if requested is not None and self.role != "backend":
            raise Forbidden("this API key may not name the user",
                            "send `user` only with a key configured as KEY=backend; this key's "
                            "principal is fixed")
        if self.role == "operator":
            return None
        if self.role.startswith("user:"):
            return self.role[5:].strip()
        return requested or ANONYMOUS

    def describe(self, requested: str | None = None) -> str:
        who = self.principal(requested)
        return "operator (every page)" if who is None else str(getattr(who, "label", who))


_bearer = HTTPBearer(auto_error=False, description="an API key from KB_SERVER__API_KEYS")


async def caller(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Caller:
    """Authenticate (bearer key) and rate-limit; the caller (never the key itself)."""
    settings: Settings = request.app.state.settings
    entries = settings.server.key_entries
    host = request.client.host if request.client else "?"
    if not entries:
        found = Caller(f"anonymous@{host}", "backend")
    elif creds is None or creds.scheme.lower() != "bearer":
        limit(request, f"unauthenticated@{host}")  # guessing keys is rate-limited too
        raise Unauthorized("missing API key", "send the header `Authorization: Bearer <key>`")
    elif (index := match_key(creds.credentials, [k for k, _ in entries])) is None:
        limit(request, f"unauthenticated@{host}")
        raise Unauthorized("invalid API key", "use one of the keys in KB_SERVER__API_KEYS")
    else:
        found = Caller(f"key#{index}", entries[index][1])
    limit(request, found.id)
    return found


def limit(request: Request, caller_id: str) -> None:
    """Take a token from the caller's bucket, or answer 429 with Retry-After."""
    wait = request.app.state.limiter.acquire(caller_id)
    if wait > 0:
        raise RateLimited("rate limit exceeded",
                          f"at most {request.app.state.settings.server.rate_limit_per_minute} requests a "
                          "minute per key; retry after the Retry-After seconds",
                          {"retry_after": retry_after_header(wait)})
