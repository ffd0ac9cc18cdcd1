"""The admin API under /__admin/ (no Confluence auth; loopback only). JSON in, JSON out.

- POST   content                {corpus item}                      -> {"id", "version", ...}
- PUT    content/{id}           {title?, body?, parent_id?, labels?, restrictions?, message?}
- POST   content/{id}/trash | content/{id}/restore
- DELETE content/{id}           purge: every later read is a 404
- GET    content/{id}           the item as the emulator holds it (any status)
- GET    clock | POST clock     {"set": ISO} or {"advance_minutes": n}   -> {"now": ISO}
- GET | POST | DELETE faults    POST {"path", "kind", "times"?, "fraction"?, "retry_after"?, "delay"?}
- GET | DELETE requests         the request log
"""

from __future__ import annotations

import re
from typing import Any

from emulator.api import Reply, error, now_reply
from emulator.store import Item, NotFound, iso, parse_iso

_CONTENT = re.compile(r"content/([^/]+)(?:/(trash|restore))?/?")


def item_summary(item: Item) -> dict[str, Any]:
    return {"id": item.id, "type": item.type, "space": item.space, "title": item.title,
            "status": item.status, "version": item.version, "parent_id": item.parent_id,
            "labels": list(item.labels), "updated": iso(item.updated_ms),
            "created": iso(item.created_ms),
            "restrictions": {"users": list(item.read_users), "groups": list(item.read_groups)}}


def handle(server: Any, method: str, path: str, query: dict[str, list[str]], body: Any) -> Reply:
    """Route one admin call; errors come back as Confluence-shaped JSON with a 4xx status."""
    try:
        return _route(server, method, path.strip("/"), body)
    except NotFound as exc:
        return error(404, f"No content found with id: {exc.args[0]}")
    except (ValueError, KeyError, TypeError) as exc:
        return error(400, f"bad admin request: {exc}")


def _route(server: Any, method: str, path: str, body: Any) -> Reply:
    store = server.store
    data = body if isinstance(body, dict) else {}
    if path == "content" and method == "POST":
        return Reply(201, item_summary(store.create(data)))
    match = _CONTENT.fullmatch(path)
    if match:
        return _content(store, method, match.group(1), match.group(2), data)
    if path == "clock":
        return _clock(store, method, data)
    if path == "faults":
        return _faults(server, method, data)
    if path == "requests" and method == "GET":
        return Reply(200, {"requests": server.log.list()})
    if path == "requests" and method == "DELETE":
        server.log.clear()
        return Reply(200, {"cleared": True})
    if path == "health":
        return Reply(200, {"ok": True, "items": len(store.items)})
    return error(404, f"no admin route {method} /__admin/{path}")


def _content(store: Any, method: str, content_id: str, action: str | None, data: dict[str, Any]) -> Reply:
    if action and method == "POST":
        status = "trashed" if action == "trash" else "current"
        return Reply(200, item_summary(store.set_status(content_id, status)))
    if action is None and method == "PUT":
        fields = {k: data[k] for k in ("title", "body", "parent_id", "labels", "restrictions")
                  if data.get(k) is not None}
        return Reply(200, item_summary(store.edit(content_id, message=data.get("message") or "", **fields)))
    if action is None and method == "DELETE":
        store.purge(content_id)
        return Reply(200, {"id": content_id, "purged": True})
    if action is None and method == "GET":
        return Reply(200, item_summary(store.get(content_id)))
    return error(405, f"{method} not allowed on /__admin/content/{content_id}")


def _clock(store: Any, method: str, data: dict[str, Any]) -> Reply:
    if method == "POST":
        if data.get("set"):
            store.clock.set(parse_iso(str(data["set"])))
        if data.get("advance_minutes") is not None:
            store.clock.advance(float(data["advance_minutes"]))
    return now_reply(store)


def _faults(server: Any, method: str, data: dict[str, Any]) -> Reply:
    if method == "POST":
        fault = server.faults.add(str(data.get("path") or data.get("pattern") or "*"), data["kind"],
                                  times=data.get("times"), fraction=data.get("fraction"),
                                  retry_after=data.get("retry_after"), delay=data.get("delay"))
        return Reply(201, fault.to_dict())
    if method == "DELETE":
        server.faults.clear()
        return Reply(200, {"cleared": True})
    return Reply(200, {"faults": server.faults.list()})
