"""`GET /rest/api/search`: CQL search with `totalSize`, as Cloud and Data Center answer it.

Unlike `content/search` (content objects, no total), each result here is a search hit wrapping its
content (`{"content": {...}, "title", "excerpt", "url", "lastModified", "entityType"}`) and the
envelope carries `totalSize`: how many match in all, whatever `limit` is. A client counts a space's
pages with `limit=1` (or 0) and reads `totalSize`.

`cqlcontext={"contentStatuses": ["trashed"]}` (JSON) picks which statuses match when the CQL does
not name `status` (default: current), as Atlassian's answer on the developer community shows.
"""

from __future__ import annotations

import json
from typing import Any, Protocol
from urllib.parse import urlencode

from emulator import cql, render
from emulator.store import Store, iso

Query = dict[str, list[str]]

MAX_SEARCH_LIMIT = 100


class Site(Protocol):
    """What of emulator.api.Site a search needs."""

    store: Store
    base: str
    context: str
    timezone: str

    def _cached(self, key: Any, compute: Any) -> list[Any]: ...


class BadContext(ValueError):
    """cqlcontext is not the JSON object the API takes."""


def statuses(raw: str | None) -> tuple[str, ...]:
    """The content statuses a cqlcontext asks for (default: current)."""
    if not raw:
        return ("current",)
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise BadContext(f"cqlcontext is not JSON: {exc}") from exc
    wanted = data.get("contentStatuses") if isinstance(data, dict) else None
    if wanted is None:
        return ("current",)
    if not isinstance(wanted, list) or not all(isinstance(s, str) for s in wanted):
        raise BadContext("cqlcontext.contentStatuses must be a list of strings")
    return tuple(wanted) or ("current",)


def search(site: Site, query: Query, text: str, start: int, limit: int) -> dict[str, Any]:
    """The answer's body (see the module docstring); api.Site.search parses the parameters.
    Raises BadContext for a cqlcontext that is not the API's JSON."""
    context = query.get("cqlcontext")
    wanted = statuses(context[0] if context else None)
    store = site.store

    def compute() -> list[Any]:
        parsed = cql.parse(text, store, site.timezone)
        found = [i for i in store.snapshot()
                 if (parsed.mentions_status or i.status in wanted) and parsed.predicate(i)]
        found.sort(key=lambda i: i.id_key)
        for field_name, desc in reversed(parsed.order):
            found.sort(key=cql.sort_key(field_name), reverse=desc)
        return found

    rows = site._cached(("search", text, wanted), compute)
    limit = max(0, min(limit, MAX_SEARCH_LIMIT))
    chunk = rows[start:start + limit]
    expand = render.parse_expand(query.get("expand"))
    results = [_hit(site, item, expand) for item in chunk]
    links: dict[str, str] = {"base": site.base, "context": site.context}
    if start + len(chunk) < len(rows) and limit > 0:
        links["next"] = f"{site.context}/rest/api/search?" + _rest(query, start + limit, limit)
    return {"results": results, "start": start, "limit": limit, "size": len(results),
            "totalSize": len(rows), "cqlQuery": text, "searchDuration": 1, "_links": links}


def _hit(site: Site, item: Any, expand: Any) -> dict[str, Any]:
    content = render.content_json(item, site.store, site.base, expand.get("content") or {})
    space = site.store.spaces.get(item.space)
    return {"content": content, "title": item.title, "excerpt": "",
            "url": f"/spaces/{item.space}/pages/{item.id}",
            "resultGlobalContainer": {"title": space.name if space else item.space,
                                      "displayUrl": f"/spaces/{item.space}"},
            "breadcrumbs": [], "entityType": "content", "iconCssClass": "aui-icon content-type-page",
            "lastModified": iso(item.updated_ms), "friendlyLastModified": "", "score": 0.0}


def _rest(query: Query, start: int, limit: int) -> str:
    params = [(k, v) for k, vs in query.items() if k not in ("start", "limit") for v in vs]
    return urlencode([*params, ("limit", str(limit)), ("start", str(start))])
