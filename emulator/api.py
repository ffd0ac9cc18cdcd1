"""The emulator's routes: Confluence Cloud REST v1 (under /wiki/rest/api) and the admin API.

Handlers are plain functions of (query, body) returning a `Reply`; `server.py` does the HTTP.
Pagination is Cloud's: `start`/`limit` in, `results`/`start`/`limit`/`size`/`_links.next` out,
with `limit` capped at Cloud-like maxima (documented-ish values, chosen here):

- 250 items per request without bodies, 50 when `body.*` is expanded (the stock connector asks 25);
- `/space` 250 (expanded permissions: 50), `/group` 200, `/audit` 1000;
- group members 200 (default 200, as the spec says; `membersByGroupId` answers 400 above 200,
  the deprecated `group/member?name=` caps at 200); restriction subjects 100 by default.

`content/search` returns content objects in the same envelope; its `next` link carries a
`cursor` (like Cloud's) that encodes the offset, and `start` is honoured too.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode

from emulator import cql, render, search
from emulator.store import NotFound, Store, iso, parse_iso

Query = dict[str, list[str]]
MAX_LIMIT, MAX_LIMIT_BODY, DEFAULT_LIMIT = 250, 50, 25


@dataclass
class Reply:
    status: int
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None

    def body(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.payload is None:
            return b""
        return json.dumps(self.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error(status: int, message: str) -> Reply:
    return Reply(status, render.error_json(status, message))


def _one(query: Query, name: str, default: str | None = None) -> str | None:
    values = query.get(name)
    return values[-1] if values else default


def _int(query: Query, name: str, default: int) -> int:
    value = _one(query, name)
    if value is None or value == "":
        return default
    try:
        return max(0, int(value))
    except ValueError:
        raise BadRequest(f"{name} must be a number, got {value!r}") from None


class BadRequest(ValueError):
    pass


def _cursor_start(query: Query) -> int:
    cursor = _one(query, "cursor")
    if cursor:
        try:
            return int(base64.urlsafe_b64decode(cursor.encode() + b"==").decode().split(":")[-1])
        except (ValueError, UnicodeDecodeError):
            raise BadRequest(f"invalid cursor {cursor!r}") from None
    return _int(query, "start", 0)


def _encode_cursor(start: int) -> str:
    return base64.urlsafe_b64encode(f"_f_:{start}".encode()).decode().rstrip("=")


class Site:
    """Answers requests against one Store; `base` is "https://127.0.0.1:PORT/wiki"."""

    timezone = "UTC"  # the zone CQL dates are read in (Cloud: the user's profile; DC: the server's)
    context = "/wiki"  # the site's context path (Data Center: "" or e.g. "/confluence")
    cursor_paging = True  # content/search's next link carries a cursor (Cloud), not start alone
    max_limit, max_limit_body = MAX_LIMIT, MAX_LIMIT_BODY

    def __init__(self, store: Store, base: str, email: str) -> None:
        self.store, self.base, self.email = store, base, email
        self._cache: dict[Any, tuple[int, list[Any]]] = {}
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Reply]]] = [
            ("GET", self._path(r"content/?"), self.content_list),
            ("GET", self._path(r"content/search/?"), self.content_search),
            ("GET", self._path(r"search/?"), self.search),
            ("GET", self._path(r"content/([^/]+)/child/(page|blogpost)/?"), self.children),
            ("GET", self._path(r"content/([^/]+)/child/comment/?"), self.child_comments),
            ("GET", self._path(r"content/([^/]+)/child/attachment/?"), self.child_attachments),
            ("GET", re.compile(re.escape(self.context) + r"/download/attachments/([^/]+)/([^/]+)"),
             self.download),
            ("GET", self._path(r"content/([^/]+)/?"), self.content_one),
            ("GET", self._path(r"space/?"), self.space_list),
            ("GET", self._path(r"space/([^/]+)/?"), self.space_one),
            ("GET", self._path(r"user/current/?"), self.user_current),
            ("GET", self._path(r"content/([^/]+)/restriction/byOperation/?"), self.restrictions_all),
            ("GET", self._path(r"content/([^/]+)/restriction/byOperation/([^/]+)/?"), self.restriction_one),
            ("GET", self._path(r"group/?"), self.group_list),
            ("GET", self._path(r"group/member/?"), self.group_member_by_name),
            ("GET", self._path(r"group/([^/]+)/membersByGroupId/?"), self.group_members),
            ("GET", self._path(r"audit/?"), self.audit_list),
            ("GET", self._path(r"settings/systemInfo/?"), self.system_info),
        ]

    def _path(self, rest: str) -> re.Pattern[str]:
        """A route under the site's REST base: {context}/rest/api/{rest}."""
        return re.compile(re.escape(self.context) + "/rest/api/" + rest)

    def rest(self, path: str) -> str:
        """A request path without the context path (what `_links.next` is relative to)."""
        return path[len(self.context):]

    def _cached(self, key: Any, compute: Callable[[], list[Any]]) -> list[Any]:
        """Query results per store generation: paging through 20,000 pages filters them once."""
        hit = self._cache.get(key)
        if hit is not None and hit[0] == self.store.generation:
            return hit[1]
        if len(self._cache) > 64:
            self._cache.clear()
        rows = compute()
        self._cache[key] = (self.store.generation, rows)
        return rows

    def route(self, method: str, path: str, query: Query) -> Reply:
        for verb, pattern, handler in self.routes:
            match = pattern.fullmatch(path)
            if match and verb == method:
                try:  # path segments arrive percent-encoded (a group name with a space)
                    return handler(query, *(unquote(g) for g in match.groups()))
                except BadRequest as exc:
                    return error(400, str(exc))
                except cql.CQLError as exc:
                    return error(400, f"Could not parse cql : {exc}")
        if method != "GET" and any(p.fullmatch(path) for _, p, _ in self.routes):
            return error(405, f"{method} is not supported here by the emulator")
        return error(404, f"No route for {path} in the emulator")

    # ---- envelopes --------------------------------------------------------------------------
    def _page(self, rows: Sequence[Any], query: Query, path: str, render_row: Callable[[Any], Any],
              max_limit: int, cursor: bool = False, default_limit: int = DEFAULT_LIMIT) -> Reply:
        cursor = cursor and self.cursor_paging
        start = _cursor_start(query) if cursor else _int(query, "start", 0)
        limit = min(_int(query, "limit", default_limit), max_limit)
        chunk = rows[start:start + limit]
        results = [render_row(r) for r in chunk]
        links: dict[str, str] = {"base": self.base, "context": self.context}
        rest = {k: v for k, v in query.items() if k not in ("start", "limit", "cursor", "next", "prev")}
        if start + len(chunk) < len(rows) and limit > 0:
            links["next"] = self._link(path, rest, start + limit, limit, cursor, "next")
        if start > 0 and cursor:
            links["prev"] = self._link(path, rest, max(0, start - limit), limit, cursor, "prev")
        links["self"] = (self.base + self.rest(path)
                         + ("?" + urlencode(query, doseq=True) if query else ""))
        return Reply(200, {"results": results, "start": start, "limit": limit, "size": len(results),
                           "_links": links})

    def _link(self, path: str, rest: Query, start: int, limit: int, cursor: bool, way: str) -> str:
        params: list[tuple[str, str]] = []
        if cursor:
            params += [(way, "true"), ("cursor", _encode_cursor(start))]
        params += [(k, v) for k, vs in rest.items() for v in vs]
        params += [("limit", str(limit)), ("start", str(start))]
        return self.rest(path) + "?" + urlencode(params)

    def _content_rows(self, rows: Sequence[Any], query: Query, path: str, cursor: bool = False) -> Reply:
        expand = render.parse_expand(query.get("expand"))
        max_limit = self.max_limit_body if expand.get("body") else self.max_limit
        return self._page(rows, query, path,
                          lambda item: render.content_json(item, self.store, self.base, expand),
                          max_limit, cursor)

    # ---- content ----------------------------------------------------------------------------
    def _statuses(self, query: Query) -> list[str]:
        values = [s for v in query.get("status", []) for s in v.split(",") if s]
        return values or ["current"]

    def content_list(self, query: Query) -> Reply:
        kind = _one(query, "type", "page") or "page"
        space = _one(query, "spaceKey")
        statuses = tuple(self._statuses(query))
        rows = self._cached(("content", kind, space, statuses), lambda: list(
            self.store.select([kind], [space] if space else None, statuses)))
        title = _one(query, "title")
        if title:
            rows = [r for r in rows if r.title == title]
        return self._content_rows(rows, query, f"{self.context}/rest/api/content")

    def content_search(self, query: Query) -> Reply:
        text = _one(query, "cql")
        if not text:
            raise BadRequest("cql is required")
        rows = self._cached(("cql", text), lambda: cql.search(text, self.store, self.timezone))
        return self._content_rows(rows, query, f"{self.context}/rest/api/content/search", cursor=True)

    def search(self, query: Query) -> Reply:
        """`/search`: search hits with `totalSize` (emulator/search.py)."""
        text = _one(query, "cql")
        if not text:
            raise BadRequest("cql is required")
        try:
            body = search.search(self, query, text, _int(query, "start", 0), _int(query, "limit", 25))
            return Reply(200, body)
        except search.BadContext as exc:
            raise BadRequest(str(exc)) from exc

    def content_one(self, query: Query, content_id: str) -> Reply:
        try:
            item = self.store.get(content_id)
        except NotFound:
            return error(404, f"No content found with id: ContentId{{id={content_id}}}")
        statuses = self._statuses(query)
        if item.status not in statuses and "any" not in statuses:
            return error(404, f"No content found with id: ContentId{{id={content_id}}}")
        expand = render.parse_expand(query.get("expand"))
        return Reply(200, render.content_json(item, self.store, self.base, expand))

    def children(self, query: Query, content_id: str, kind: str) -> Reply:
        if content_id not in self.store.items:
            return error(404, f"No content found with id: ContentId{{id={content_id}}}")
        rows = [i for i in self.store.select([kind]) if i.parent_id == content_id]
        return self._content_rows(rows, query, f"{self.context}/rest/api/content/{content_id}/child/{kind}")

    def child_comments(self, query: Query, content_id: str) -> Reply:
        """A page's comments (emulator/comments.py); `location=footer|inline` (repeatable) filters."""
        from emulator.comments import comments_of

        if content_id not in self.store.items:
            return error(404, f"No content found with id: ContentId{{id={content_id}}}")
        where = [v for value in query.get("location", []) for v in value.split(",") if v]
        return self._content_rows(comments_of(self.store, content_id, where), query,
                                  f"{self.context}/rest/api/content/{content_id}/child/comment")

    def child_attachments(self, query: Query, content_id: str) -> Reply:
        """A page's attachments (emulator/attachments.py); `filename=` and `mediaType=` filter."""
        from emulator.attachments import attachments_of

        if content_id not in self.store.items:
            return error(404, f"No content found with id: ContentId{{id={content_id}}}")
        rows = attachments_of(self.store, content_id, _one(query, "filename"), _one(query, "mediaType"))
        return self._content_rows(rows, query,
                                  f"{self.context}/rest/api/content/{content_id}/child/attachment")

    def download(self, query: Query, page_id: str, filename: str) -> Reply:
        from emulator.attachments import download

        found = download(self.store, page_id, filename)
        if found is None:
            return error(404, f"No attachment {filename!r} on content {page_id}")
        return Reply(200, raw=found[0], headers=found[1])

    # ---- spaces, users, groups, audit ------------------------------------------------------
    def space_list(self, query: Query) -> Reply:
        keys = {k for v in query.get("spaceKey", []) for k in v.split(",") if k}
        kind = _one(query, "type")
        rows = [s for s in self.store.spaces.values()
                if (not keys or s.key in keys) and (not kind or s.type == kind)]
        expand = render.parse_expand(query.get("expand"))
        return self._page(rows, query, f"{self.context}/rest/api/space",
                          lambda s: render.space_json(s, self.base, expand, self.store),
                          50 if "permissions" in expand else self.max_limit)

    def space_one(self, query: Query, key: str) -> Reply:
        space = self.store.spaces.get(key)
        if space is None:
            return error(404, f"No space with key : {key}")
        return Reply(200, render.space_json(space, self.base, render.parse_expand(query.get("expand")),
                                            self.store))

    def user_current(self, query: Query) -> Reply:
        found = next((u for u in self.store.users.values() if u.email == self.email), None)
        user = found or self.store.user(self.store.default_author)
        out = render.user_json(user, self.base)
        out["_links"].update({"base": self.base, "context": self.context})
        return Reply(200, out)

    def system_info(self, query: Query) -> Reply:
        """Cloud's GET /settings/systemInfo (what `kb check` reports as the version)."""
        return Reply(200, {"cloudId": "kb-emulator", "commitHash": "kb-emulator", "baseUrl": self.base,
                           "edition": "emulated", "siteTitle": "confluence-kb emulator",
                           "defaultTimeZone": self.timezone})

    def group_list(self, query: Query) -> Reply:
        """All groups, alphabetically by name as in Cloud."""
        return self._page(sorted(self.store.groups), query, f"{self.context}/rest/api/group",
                          lambda g: render.group_json(g, self.base), 200, default_limit=200)

    def _members(self, query: Query, group: str, path: str) -> Reply:
        rows = [self.store.user(a) for a in self.store.members_of(group)]
        return self._page(rows, query, path, lambda u: render.user_json(u, self.base), 200,
                          default_limit=200)

    def group_members(self, query: Query, group_id: str) -> Reply:
        """GET /group/{groupId}/membersByGroupId: a UserArray; limit above 200 is a 400, as in Cloud."""
        name = next((g for g in self.store.groups if render.group_id(g) == group_id), None)
        if name is None:
            return error(404, f"No group found with id : {group_id}")
        if _int(query, "limit", 200) > 200:
            raise BadRequest("The limit must not be greater than 200")
        return self._members(query, name, f"{self.context}/rest/api/group/{group_id}/membersByGroupId")

    def group_member_by_name(self, query: Query) -> Reply:
        """The deprecated GET /group/member?name=: the same answer, limit capped at 200."""
        name = _one(query, "name")
        if not name:
            raise BadRequest("name is required")
        if name not in self.store.groups:
            return error(404, f"No group found with name : {name}")
        return self._members(query, name, f"{self.context}/rest/api/group/member")

    def _restricted_item(self, content_id: str) -> Any:
        try:
            return self.store.get(content_id)
        except NotFound:
            return None

    def restriction_one(self, query: Query, content_id: str, operation: str) -> Reply:
        """GET /content/{id}/restriction/byOperation/{read|update}: users and groups expanded by default."""
        item = self._restricted_item(content_id)
        if item is None:
            return error(404, f"No content found with id: ContentId{{id={content_id}}}")
        if operation not in ("read", "update"):
            raise BadRequest(f"operationKey must be read or update, got {operation!r}")
        expand = render.parse_expand(query.get("expand"))
        parts = expand.get("restrictions") or {"user": {}, "group": {}}
        start, limit = _int(query, "start", 0), min(_int(query, "limit", 100), 200)
        if operation == "read":
            out = render.read_restriction_json(item, self.store, self.base, parts, start, limit)
        else:
            out = render.update_restriction_json(item, self.base, parts, start, limit)
        if "content" in expand:
            out["content"] = render.content_json(item, self.store, self.base, {})
            out["_expandable"].pop("content", None)
        out["_links"].update({"base": self.base, "context": self.context})
        return Reply(200, out)

    def restrictions_all(self, query: Query, content_id: str) -> Reply:
        """GET /content/{id}/restriction/byOperation: {"read": ..., "update": ...}, users and groups
        expanded by default (`expand=restrictions.user` picks)."""
        item = self._restricted_item(content_id)
        if item is None:
            return error(404, f"No content found with id: ContentId{{id={content_id}}}")
        expand = render.parse_expand(query.get("expand"))
        parts = expand.get("restrictions") or {"user": {}, "group": {}}
        out = {"read": render.read_restriction_json(item, self.store, self.base, parts, 0, 100),
               "update": render.update_restriction_json(item, self.base, parts, 0, 100),
               "_links": {"self": f"{self.base}/rest/api/content/{item.id}/restriction/byOperation",
                          "base": self.base, "context": self.context}}
        return Reply(200, out)

    def audit_list(self, query: Query) -> Reply:
        rows = list(self.store.audit)
        if _one(query, "startDate"):
            start = _one(query, "startDate") or ""
            since = int(start) if start.isdigit() else parse_iso(start)  # Cloud: epoch ms
            rows = [r for r in rows if int(r["creationDate"]) >= since]
        return self._page(rows, query, f"{self.context}/rest/api/audit", lambda r: r, 1000)


def now_reply(store: Store) -> Reply:
    return Reply(200, {"now": iso(store.clock.now_ms())})
