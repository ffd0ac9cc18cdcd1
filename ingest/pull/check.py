"""`check()`: can confluence-kb read this Confluence, and how much of what access needs?

A handful of plain REST calls with the pull's own URL, credentials, CA and proxy settings (not a
PyAirbyte read: a check must say in seconds *why* it fails, which the CDK's retries hide):
1. `{site}/rest/api/user/current`: the site answers, the credentials hold, who we are;
2. the version: Data Center's `/rest/applinks/1.0/manifest`, Cloud's `/rest/api/settings/systemInfo`;
3. the spaces it can list (start/limit, every page);
4. whether the space permissions are readable (Cloud: `space?expand=permissions`; Data Center:
   `space/{key}/permissions`, space admins only) and group members (`group/{id}/membersByGroupId`;
   Data Center `group/{name}/member`): without them every page stays hidden (fail closed).
A failure is one line with its kind: `token_type` (a Cloud API token where a personal access token
belongs, or the reverse), `auth`, `context_path`, and the transport kinds of
`ingest.pull._airbyte.hopeless` (`tls`, `scheme`, `proxy`, `dns`, `refused`, `timeout`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote

from ingest.config import Settings, as_settings
from ingest.pull._airbyte.config import manifest_config
from ingest.pull._airbyte.hopeless import HOPELESS_TITLES, classify, hint

CONTEXTS = ("", "/wiki", "/confluence")
_B64 = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")


@dataclass(frozen=True)
class CheckReport:
    """What `kb check` found. `ok` False: `kind`, `error` (one line) and `hint` say why."""

    ok: bool
    deployment: str
    url: str
    version: str = ""
    user: str = ""
    spaces: int = 0
    space_permissions: bool = False
    group_members: bool = False
    kind: str = ""
    error: str = ""
    hint: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Failed(Exception):
    def __init__(self, kind: str, error: str, guidance: str) -> None:
        super().__init__(error)
        self.kind, self.error, self.guidance = kind, error, guidance


def check(settings: Settings | str | None = None) -> CheckReport:
    """Check the connection to Confluence (Settings, a config path or None); never raises for what
    the site answers: a failed report says why. A missing setting is a ConfigError."""
    settings = as_settings(settings)
    c = settings.confluence
    config = manifest_config(settings, start_date=settings.pull.start_date)
    probe = _Probe(settings, config)
    try:
        return probe.run()
    except _Failed as failed:
        return CheckReport(False, c.deployment, c.site_url, kind=failed.kind, error=failed.error,
                           hint=failed.guidance)
    finally:
        probe.close()


def token_shape(token: str) -> str:
    """"cloud" for an Atlassian API token (ATATT..., or a classic 24-character one), "pat" for a
    Data Center personal access token (44 base64 characters), "" when it could be either."""
    if token.startswith("ATATT") or re.fullmatch(r"[A-Za-z0-9_-]{24}", token):
        return "cloud"
    if _B64.fullmatch(token) and not token.startswith("ATATT"):
        return "pat"
    return ""


class _Probe:
    def __init__(self, settings: Settings, config: dict[str, Any]) -> None:
        import requests

        self.settings, self.config = settings, config
        self.c = settings.confluence
        self.dc = self.c.deployment == "datacenter"
        self.session = requests.Session()
        self.verify: str | bool = self.c.ca_bundle or True  # per request: the env CA beats the session
        if config.get("auth") == "bearer":
            self.session.headers["Authorization"] = f"Bearer {config['pat']}"
        else:
            self.session.auth = (config["email"], config["api_token"])
        self.session.headers["Accept"] = "application/json"
        self.timeout = min(settings.pull.timeout_seconds, 30.0)
        self.api = f"{self.c.site_url}/rest/api"

    def close(self) -> None:
        self.session.close()

    def get(self, url: str, **params: Any) -> Any:
        """The response, or _Failed for a transport error (classified as the pull classifies it)."""
        import requests

        try:
            return self.session.get(url, params=params or None, timeout=self.timeout, allow_redirects=False,
                                    verify=self.verify)
        except requests.RequestException as exc:
            kind = classify(exc, url, answered=False, timeouts=1) or "network"
            title = HOPELESS_TITLES.get(kind, "network error")
            raise _Failed(kind, f"{title}: GET {url} ({_reason(exc)})",
                          hint(kind, self.c.base_url, self.timeout)) from None

    def run(self) -> CheckReport:
        who = self.current_user()
        version = self.version()
        spaces, first_space = self.spaces()
        return CheckReport(True, self.c.deployment, self.c.site_url, version=version, user=who,
                           spaces=spaces, space_permissions=self.permissions_readable(first_space),
                           group_members=self.members_readable())

    # -- 1. who we are (and every way that can fail) ----------------------------------------------
    def current_user(self) -> str:
        url = f"{self.api}/user/current"
        response = self.get(url)
        body = _json(response)
        if response.status_code in (401, 403):
            raise self._refused(response)
        if response.status_code != 200 or not isinstance(body, dict):
            raise self._wrong_context(url, response)
        if self.dc and (body.get("type") == "anonymous" or not (body.get("userKey") or body.get("username"))):
            raise _Failed("auth", f"Confluence answered {url} as an anonymous user: the personal access "
                          "token was not accepted", "create a new token (Profile › Personal Access Tokens) "
                          "and set KB_CONFLUENCE__PAT; Data Center lets an unknown token in as anonymous")
        login = body.get("username") or body.get("email") or body.get("accountId") or ""
        name = body.get("displayName") or body.get("publicName") or login
        return f"{name} ({login})" if login and login != name else str(name)

    def _refused(self, response: Any) -> _Failed:
        status = response.status_code
        challenge = response.headers.get("WWW-Authenticate", "")
        if self.dc and self.config.get("auth") == "bearer":
            if token_shape(self.config["pat"]) == "cloud":
                return _Failed("token_type", f"wrong token type: KB_CONFLUENCE__PAT holds an Atlassian Cloud "
                               f"API token, refused by {self.c.site_url} ({status})",
                               "Data Center takes a personal access token: create one in Confluence "
                               "(Profile › Personal Access Tokens) and set KB_CONFLUENCE__PAT")
            return _Failed("auth", f"{self.c.site_url} refused the personal access token ({status})",
                           "the token may be expired or revoked, or for another site: create a new one "
                           "(Profile › Personal Access Tokens) and set KB_CONFLUENCE__PAT")
        if not self.dc and (token_shape(self.config["api_token"]) == "pat" or "bearer" in challenge.lower()):
            return _Failed("token_type", f"wrong token type: {self.c.site_url} refused basic auth ({status}) "
                           "and asks for a bearer token: a Data Center site?",
                           "set [confluence] deployment = \"datacenter\" and put the personal access "
                           "token in KB_CONFLUENCE__PAT")
        what = "username and KB_CONFLUENCE__PASSWORD" if self.dc else "email and KB_CONFLUENCE__API_TOKEN"
        return _Failed("auth", f"{self.c.site_url} refused the credentials ({status})",
                       f"check [confluence] {what} (and that the account may use Confluence)")

    def _wrong_context(self, url: str, response: Any) -> _Failed:
        found = [ctx for ctx in CONTEXTS if ctx != self.c.context and self._answers(ctx)]
        said = f"{response.status_code}" + ("" if _json(response) is not None else ", not JSON")
        error = f"wrong context path: {url} answers {said}, not Confluence's REST API"
        if not found:
            return _Failed("context_path", error, "set [confluence] context_path to the part of the site's "
                           "URL after the host (\"\" for none, \"/confluence\", Cloud's \"/wiki\")")
        ctx = found[0]
        deployment = "cloud" if ctx == "/wiki" else "datacenter"
        fix = f"set [confluence] context_path = \"{ctx}\""
        if deployment != self.c.deployment:
            fix += f" and deployment = \"{deployment}\""
            if deployment == "datacenter":
                fix += " (with the personal access token in KB_CONFLUENCE__PAT)"
        return _Failed("context_path", error, f"the REST API answers under {ctx or '/'}: {fix}")

    def _answers(self, ctx: str) -> bool:
        try:
            response = self.get(f"{self.c.base_url}{ctx}/rest/api/user/current")
        except _Failed:
            return False
        return response.status_code in (200, 401, 403) and _json(response) is not None

    # -- 2.-4. what it can read ---------------------------------------------------------------------
    def version(self) -> str:
        if self.dc:
            response = self.get(f"{self.c.site_url}/rest/applinks/1.0/manifest")
            match = re.search(r"<version>([^<]+)</version>", response.text or "")
            return f"Data Center {match.group(1)}" if response.status_code == 200 and match else "unknown"
        body = _json(self.get(f"{self.api}/settings/systemInfo"))
        if isinstance(body, dict) and body:
            return "Cloud" + (f" ({body['commitHash']})" if body.get("commitHash") else "")
        return "unknown"

    def spaces(self) -> tuple[int, str]:
        count, start, first = 0, 0, ""
        while True:
            body = _json(self.get(f"{self.api}/space", start=start, limit=200))
            results = body.get("results") if isinstance(body, dict) else None
            if not isinstance(results, list):
                return count, first
            first = first or next((str(s.get("key")) for s in results if isinstance(s, dict)), "")
            count += len(results)
            if not results or not (body.get("_links") or {}).get("next"):
                return count, first
            start += len(results)

    def permissions_readable(self, space: str) -> bool:
        if not space:
            return False
        if self.dc:
            return bool(self.get(f"{self.api}/space/{quote(space)}/permissions").status_code == 200)
        body = _json(self.get(f"{self.api}/space", spaceKey=space, expand="permissions", limit=1))
        results = body.get("results") if isinstance(body, dict) else None
        return bool(results and isinstance(results[0], dict) and results[0].get("permissions"))

    def members_readable(self) -> bool:
        body = _json(self.get(f"{self.api}/group", limit=1))
        groups = body.get("results") if isinstance(body, dict) else None
        if not groups or not isinstance(groups[0], dict):
            return False
        group = groups[0]
        path = (f"group/{quote(str(group.get('name')), safe='')}/member" if self.dc
                else f"group/{quote(str(group.get('id')), safe='')}/membersByGroupId")
        return bool(self.get(f"{self.api}/{path}", limit=1).status_code == 200)


def _reason(exc: BaseException) -> str:
    """The innermost cause of a transport error, short (the pool's wrapping says nothing)."""
    inner: BaseException = exc
    for _ in range(8):
        nxt = getattr(inner, "reason", None) or (inner.args[0] if inner.args and
                                                 isinstance(inner.args[0], BaseException) else None)
        if not isinstance(nxt, BaseException):
            break
        inner = nxt
    text = str(inner).split(": ", 1)[-1] if "Connection" in type(inner).__name__ else str(inner)
    return f"{type(inner).__name__}: {text}"[:160]


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
