"""The admin API under /__admin/ (no Confluence auth; loopback only). JSON in, JSON out.

- POST   content                {corpus item}                      -> {"id", "version", ...}
- PUT    content/{id}           {title?, body?, parent_id?, labels?, restrictions?, message?}
- POST   content/{id}/trash | content/{id}/restore
- POST   content/{id}/move      {"space", "parent_id"?}: to another space, with its descendants; no new
                                version and no new lastmodified (as in Cloud)
- DELETE content/{id}           purge: every later read is a 404
- GET    content/{id}           the item as the emulator holds it (any status)
- GET    clock | POST clock     {"set": ISO} or {"advance_minutes": n}   -> {"now": ISO}
- GET | POST | DELETE faults    POST {"path", "kind", "times"?, "fraction"?, "retry_after"?, "delay"?,
                                      "after"?}
- GET | DELETE requests         the request log

Access (none of these bumps a page's version or lastmodified, as in Cloud; each bumps the store's
generation; account ids must be users of the site, see POST users):
- PUT    content/{id}/restrictions      {"users": [ids], "groups": [names]}  (both empty: unrestricted)
- GET    content/{id}/restrictions      -> {"id", "users", "groups"}
- PUT    space/{key}/permissions        {"users": [ids], "groups": [names], "anonymous": bool}
- GET    space/{key}/permissions        -> {"key", "users", "groups", "anonymous", "explicit"}
- PUT    group/{name}/members           {"members": [ids]}  (creates the group if new)
- POST   group/{name}/members/{id}      add one member      -> {"name", "id", "members"}
- DELETE group/{name}/members/{id}      remove one member   -> {"name", "id", "members"}
- GET    group/{name}/members           -> {"name", "id", "members"}
- POST   users                          {"accountId", "displayName", "email"}  (409 if it exists)
- GET    users                          -> {"users": [{"accountId", "displayName", "email"}]}
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from emulator import access, render
from emulator.api import Reply, error, now_reply
from emulator.store import Item, NotFound, SpacePerm, Store, iso, parse_iso

_CONTENT = re.compile(r"content/([^/]+)(?:/(trash|restore|move))?/?")
_RESTRICTIONS = re.compile(r"content/([^/]+)/restrictions/?")
_SPACE_PERMS = re.compile(r"space/([^/]+)/permissions/?")
_MEMBERS = re.compile(r"group/([^/]+)/members(?:/([^/]+))?/?")


class _Missing(LookupError):
    """A space or group the admin call names does not exist (404 with this message)."""


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
    except _Missing as exc:
        return error(404, str(exc))
    except NotFound as exc:
        return error(404, f"No content found with id: {exc.args[0]}")
    except (ValueError, KeyError, TypeError) as exc:
        return error(400, f"bad admin request: {exc}")


def _route(server: Any, method: str, path: str, body: Any) -> Reply:
    store = server.store
    data = body if isinstance(body, dict) else {}
    if path == "content" and method == "POST":
        return Reply(201, item_summary(store.create(data)))
    access_reply = _access(store, method, path, data)
    if access_reply is not None:
        return access_reply
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
    if action == "move" and method == "POST":
        return Reply(200, item_summary(store.move(content_id, str(data["space"]), data.get("parent_id"))))
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
                                  retry_after=data.get("retry_after"), delay=data.get("delay"),
                                  after=int(data.get("after") or 0))
        return Reply(201, fault.to_dict())
    if method == "DELETE":
        server.faults.clear()
        return Reply(200, {"cleared": True})
    return Reply(200, {"faults": server.faults.list()})


def _names(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a list of strings")
    return list(value)


def _group(store: Store, name: str) -> dict[str, Any]:
    return {"name": name, "id": render.group_id(name), "members": store.members_of(name)}


def _access(store: Store, method: str, path: str, data: dict[str, Any]) -> Reply | None:
    """The access admin calls; None when the path is none of them."""
    match = _RESTRICTIONS.fullmatch(path)
    if match:
        content_id = unquote(match.group(1))
        if method == "PUT":
            access.set_restrictions(store, content_id, _names(data, "users"), _names(data, "groups"))
        elif method != "GET":
            return error(405, f"{method} not allowed on /__admin/{path}")
        item = store.get(content_id)
        return Reply(200, {"id": item.id, "users": list(item.read_users), "groups": list(item.read_groups)})
    match = _SPACE_PERMS.fullmatch(path)
    if match:
        key = unquote(match.group(1))
        space = store.spaces.get(key)
        if space is None:
            raise _Missing(f"No space with key : {key}")
        if method == "PUT":
            perm = SpacePerm(tuple(_names(data, "users")), tuple(_names(data, "groups")),
                             bool(data.get("anonymous", False)))
            access.set_space_perm(store, key, perm)
        elif method != "GET":
            return error(405, f"{method} not allowed on /__admin/{path}")
        return Reply(200, {"key": key, **access.effective_perm(store, space).to_dict(),
                           "explicit": space.perm is not None})
    match = _MEMBERS.fullmatch(path)
    if match:
        return _members(store, method, unquote(match.group(1)),
                        unquote(match.group(2)) if match.group(2) else None, data)
    if path == "users":
        return _users(store, method, data)
    return None


def _members(store: Store, method: str, name: str, account: str | None, data: dict[str, Any]) -> Reply:
    if account is None and method == "PUT":
        access.set_members(store, name, _names(data, "members"))
    elif account is None and method == "GET":
        if name not in store.groups:
            raise _Missing(f"No group with name : {name}")
    elif account is not None and method == "POST":
        if account not in store.users:
            raise ValueError(f"no user {account}; add it with POST /__admin/users first")
        access.add_member(store, name, account)
    elif account is not None and method == "DELETE":
        if name not in store.groups:
            raise _Missing(f"No group with name : {name}")
        access.remove_member(store, name, account)
    else:
        return error(405, f"{method} not allowed on /__admin/group/{name}/members")
    return Reply(200, _group(store, name))


def _users(store: Store, method: str, data: dict[str, Any]) -> Reply:
    if method == "GET":
        return Reply(200, {"users": [{"accountId": u.account_id, "displayName": u.display_name,
                                      "email": u.email} for u in store.users.values()]})
    if method != "POST":
        return error(405, f"{method} not allowed on /__admin/users")
    account = str(data.get("accountId") or "").strip()
    if not account:
        raise ValueError("accountId is required")
    with store.lock:
        if account in store.users:
            return error(409, f"user {account} already exists")
        user = store.add_user(account, str(data.get("displayName") or account), str(data.get("email") or ""))
        store.generation += 1
    return Reply(201, {"accountId": user.account_id, "displayName": user.display_name, "email": user.email})
