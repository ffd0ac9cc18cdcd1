"""Confluence Cloud REST v1 JSON shapes for the emulator's content, spaces, users and groups.

The shapes follow real Cloud records (shared/data/confluence/rest_api/v1/
airbyte_cloud_expected_records.jsonl): only what `expand` asks for is expanded, everything else
is listed under `_expandable`, like Cloud. `base` is the site's wiki base URL, e.g.
"https://127.0.0.1:8443/wiki".
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from emulator.access import effective_perm
from emulator.attachments import attachment_parts
from emulator.comments import comment_parts
from emulator.macros import render_macros
from emulator.store import Item, Space, Store, User, iso
from emulator.view import render_view

Expand = dict[str, "Expand"]

_TOP_EXPANDABLE = ("childTypes", "container", "schedulePublishInfo", "metadata", "operations",
                   "schedulePublishDate", "children", "restrictions", "history", "ancestors",
                   "body", "descendants", "space", "version")


def parse_expand(values: list[str] | str | None) -> Expand:
    """"a.b,c" (or repeated params) to a nested dict {"a": {"b": {}}, "c": {}}."""
    tree: Expand = {}
    raw = [values] if isinstance(values, str) else (values or [])
    for value in raw:
        for path in value.split(","):
            node = tree
            for part in filter(None, path.strip().split(".")):
                node = node.setdefault(part, {})
    return tree


def tinyui(content_id: str) -> str:
    """Cloud's short link: the id as little-endian bytes, base64url, trailing A's dropped."""
    if not content_id.isdigit():
        return f"/x/{content_id}"
    number = int(content_id)
    raw = number.to_bytes(max(4, (number.bit_length() + 7) // 8), "little")
    return "/x/" + base64.urlsafe_b64encode(raw).decode().rstrip("=").rstrip("A")


def group_id(name: str) -> str:
    return str(uuid.UUID(hashlib.md5(name.encode()).hexdigest()))


def user_json(user: User, base: str) -> dict[str, Any]:
    return {"type": "known", "accountId": user.account_id, "accountType": "atlassian",
            "email": user.email, "publicName": user.display_name,
            "profilePicture": {"path": f"/wiki/aa-avatar/{user.account_id}", "width": 48,
                               "height": 48, "isDefault": False},
            "displayName": user.display_name, "isExternalCollaborator": False,
            "_expandable": {"operations": "", "personalSpace": ""},
            "_links": {"self": f"{base}/rest/api/user?accountId={user.account_id}"}}


def group_json(name: str, base: str) -> dict[str, Any]:
    return {"type": "group", "name": name, "id": group_id(name),
            "_links": {"self": f"{base}/rest/experimental/group/{name}"}}


def webui(item: Item) -> str:
    title = quote_plus(item.title)
    if item.type == "blogpost":
        day = datetime.fromtimestamp(item.created_ms / 1000, tz=UTC).strftime("%Y/%m/%d")
        return f"/spaces/{item.space}/blog/{day}/{item.id}/{title}"
    return f"/spaces/{item.space}/pages/{item.id}/{title}"


def _permission(number: int, kind: str, subject: dict[str, Any], operation: str, target: str
                ) -> dict[str, Any]:
    other = "group" if kind == "user" else "user"
    return {"id": number, "subjects": {kind: {"results": [subject], "size": 1}, "_expandable": {other: ""}},
            "operation": {"operation": operation, "targetType": target},
            "anonymousAccess": False, "unlicensedAccess": False}


def permissions_json(space: Space, store: Store, base: str) -> list[dict[str, Any]]:
    """Space permissions like Cloud's, one subject each: read/space for each permitted user and
    group (see emulator/access.py), the creator may create pages, blog posts and comments, and,
    where anonymous access is on, Cloud's anonymous entry (no subjects, anonymousAccess true)."""
    perm = effective_perm(store, space)
    creator = store.user(store.default_author)
    out: list[dict[str, Any]] = []
    for number, account in enumerate(perm.users):
        out.append(_permission(space.id + (10 if number == 0 else 200 + number), "user",
                               user_json(store.user(account), base), "read", "space"))
    for number, target in enumerate(("page", "blogpost", "comment"), 1):
        out.append(_permission(space.id + 10 + number, "user", user_json(creator, base), "create", target))
    for number, name in enumerate(perm.groups):
        out.append(_permission(space.id + 100 + number, "group", group_json(name, base), "read", "space"))
    if perm.anonymous:
        out.append({"id": space.id + 300, "subjects": {"_expandable": {"user": "", "group": ""}},
                    "operation": {"operation": "read", "targetType": "space"},
                    "anonymousAccess": True, "unlicensedAccess": False})
    return out


def space_json(space: Space, base: str, expand: Expand | None = None,
               store: Store | None = None) -> dict[str, Any]:
    expand = expand or {}
    out: dict[str, Any] = {"id": space.id, "key": space.key, "name": space.name}
    if "icon" in expand:
        out["icon"] = {"path": f"/download/attachments/{space.id}/{space.key}-default?version=1",
                       "width": 48, "height": 48, "isDefault": False}
    if "description" in expand:
        out["description"] = {
            rep: {"value": space.description, "representation": rep, "embeddedContent": []}
            for rep in ("plain", "view") if rep in expand["description"] or not expand["description"]}
    out["type"] = space.type
    if "permissions" in expand:
        out["permissions"] = permissions_json(space, store, base) if store is not None else []
    out["status"] = "current"
    out["_expandable"] = {k: v for k, v in {
        "settings": f"/rest/api/space/{space.key}/settings", "metadata": "", "operations": "",
        "lookAndFeel": f"/rest/api/settings/lookandfeel?spaceKey={space.key}", "identifiers": "",
        "permissions": "", "icon": "", "description": "",
        "theme": f"/rest/api/space/{space.key}/theme", "history": "",
        "homepage": f"/rest/api/content/{space.homepage_id}" if space.homepage_id else ""}.items()
        if k not in expand}
    out["_links"] = {"webui": f"/spaces/{space.key}", "self": f"{base}/rest/api/space/{space.key}"}
    return out


def version_json(item: Item, number: int, store: Store, base: str) -> dict[str, Any]:
    when = item.updated_ms if number == item.version else item.created_ms
    return {"by": user_json(store.user(item.author), base), "when": iso(when),
            "friendlyWhen": datetime.fromtimestamp(when / 1000, tz=UTC).strftime("%b %d, %Y"),
            "message": item.message if number == item.version else "", "number": number,
            "minorEdit": False, "confRev": f"confluence$content${item.id}.{number}",
            "contentTypeModified": False,
            "_expandable": {"collaborators": "", "content": f"/rest/api/content/{item.id}"},
            "_links": {"self": f"{base}/rest/api/content/{item.id}/version/{number}"}}


def history_json(item: Item, store: Store, base: str, expand: Expand) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "lastUpdated" in expand:
        out["lastUpdated"] = version_json(item, item.version, store, base)
    if "previousVersion" in expand and item.version > 1:
        out["previousVersion"] = version_json(item, item.version - 1, store, base)
    out["latest"] = item.status == "current"
    out["createdBy"] = user_json(store.user(item.author), base)
    out["createdDate"] = iso(item.created_ms)
    if "contributors" in expand:
        out["contributors"] = {"_expandable": {"publishers": ""}}
    out["_expandable"] = {"lastOwnedBy": "", "nextVersion": "", "ownedBy": "", **{
        k: "" for k in ("lastUpdated", "previousVersion", "contributors") if k not in expand}}
    out["_links"] = {"self": f"{base}/rest/api/content/{item.id}/history"}
    return out


def body_json(item: Item, expand: Expand, store: Store | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    wanted = "storage" in expand or "view" in expand or "export_view" in expand
    value = item.body if wanted and item.type != "attachment" else ""  # an attachment's body is its file
    if "storage" in expand:
        out["storage"] = {"value": value, "representation": "storage", "embeddedContent": [],
                          "_expandable": {"content": f"/rest/api/content/{item.id}"}}
    for rep in ("view", "export_view"):  # the storage markup with Cloud's heading ids (emulator/view.py)
        if rep in expand:
            shown = render_view(item.title, render_macros(value, store, item))
            out[rep] = {"value": shown, "representation": rep,
                        "_expandable": {"webresource": "", "embeddedContent": "", "mediaToken": "",
                                        "content": f"/rest/api/content/{item.id}"}}
    out["_expandable"] = {k: "" for k in ("editor", "view", "export_view", "styled_view", "storage",
                                          "editor2", "anonymous_export_view", "atlas_doc_format",
                                          "dynamic") if k not in expand}
    return out


def _subject_page(rows: list[dict[str, Any]], start: int, limit: int) -> dict[str, Any]:
    chunk = rows[start:start + limit]
    return {"results": chunk, "start": start, "limit": limit, "size": len(chunk)}


def read_restriction_json(item: Item, store: Store, base: str, parts: Expand, start: int = 0,
                          limit: int = 200) -> dict[str, Any]:
    """Cloud's ContentRestriction for operation read: only the item's own restriction (Cloud does
    not show inherited ones). `parts` names which of user / group to expand."""
    inner: dict[str, Any] = {}
    if "user" in parts:
        inner["user"] = _subject_page([user_json(store.user(a), base) for a in item.read_users], start, limit)
    if "group" in parts:
        inner["group"] = _subject_page([group_json(g, base) for g in item.read_groups], start, limit)
    inner["_expandable"] = {k: "" for k in ("user", "group") if k not in parts}
    return {"operation": "read", "restrictions": inner,
            "_expandable": {"content": f"/rest/api/content/{item.id}"},
            "_links": {"self": f"{base}/rest/api/content/{item.id}/restriction/byOperation/read"}}


def update_restriction_json(item: Item, base: str, parts: Expand, start: int = 0,
                            limit: int = 200) -> dict[str, Any]:
    """The update restriction: the emulator models none, so it is always empty."""
    inner: dict[str, Any] = {k: _subject_page([], start, limit) for k in ("user", "group") if k in parts}
    inner["_expandable"] = {k: "" for k in ("user", "group") if k not in parts}
    return {"operation": "update", "restrictions": inner,
            "_expandable": {"content": f"/rest/api/content/{item.id}"},
            "_links": {"self": f"{base}/rest/api/content/{item.id}/restriction/byOperation/update"}}


def restrictions_json(item: Item, store: Store, base: str, expand: Expand) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "read" in expand:
        out["read"] = read_restriction_json(item, store, base, expand["read"].get("restrictions", {}))
    if "update" in expand:
        out["update"] = update_restriction_json(item, base, expand["update"].get("restrictions", {}))
    out["_expandable"] = {k: "" for k in ("update", "read") if k not in expand}
    out["_links"] = {"self": f"{base}/rest/api/content/{item.id}/restriction/byOperation"}
    return out


def labels_json(item: Item, base: str) -> dict[str, Any]:
    results = [{"prefix": "global", "name": name,
                "id": str(int(hashlib.md5(name.encode()).hexdigest()[:8], 16)),
                "label": name} for name in item.labels]
    return {"results": results, "start": 0, "limit": 200, "size": len(results),
            "_links": {"self": f"{base}/rest/api/content/{item.id}/label"}}


def descendants_json(item: Item, base: str, expand: Expand) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ("comment", "attachment", "page"):
        if kind in expand:
            out[kind] = {"results": [], "start": 0, "limit": 25, "size": 0,
                         "_links": {"self": f"{base}/rest/api/content/{item.id}/descendant/{kind}"}}
    out["_expandable"] = {k: f"/rest/api/content/{item.id}/descendant/{k}"
                          for k in ("attachment", "comment", "page") if k not in expand}
    out["_links"] = {"self": f"{base}/rest/api/content/{item.id}/descendant"}
    return out


def content_json(item: Item, store: Store, base: str, expand: Expand) -> dict[str, Any]:
    """One content object, expanded as asked."""
    out: dict[str, Any] = {"id": item.id, "type": item.type, "status": item.status,
                           "title": item.title}
    space = store.spaces.get(item.space)
    if "space" in expand and space is not None:
        out["space"] = space_json(space, base, expand["space"], store)
    if "history" in expand:
        out["history"] = history_json(item, store, base, expand["history"])
    if "version" in expand:
        out["version"] = version_json(item, item.version, store, base)
    if "ancestors" in expand:
        out["ancestors"] = [content_json(a, store, base, {}) for a in store.ancestors(item)]
    if "descendants" in expand:
        out["descendants"] = descendants_json(item, base, expand["descendants"])
    if "container" in expand and space is not None:
        out["container"] = space_json(space, base, expand["container"], store)
    out["macroRenderedOutput"] = {}
    if "body" in expand:
        out["body"] = body_json(item, expand["body"], store)
    if "metadata" in expand:
        meta: dict[str, Any] = {}
        if "labels" in expand["metadata"]:
            meta["labels"] = labels_json(item, base)
        meta["_expandable"] = {k: "" for k in ("currentuser", "comments", "simple", "properties",
                                               "frontend", "labels", "likes")
                               if k not in expand["metadata"]}
        out["metadata"] = meta
    if item.type == "page":
        out["extensions"] = {"position": item.position}
    if "restrictions" in expand:
        out["restrictions"] = restrictions_json(item, store, base, expand["restrictions"])
    out["_expandable"] = _expandable(item, expand)
    out["_links"] = {"self": f"{base}/rest/api/content/{item.id}", "tinyui": tinyui(item.id),
                     "editui": f"/pages/resumedraft.action?draftId={item.id}", "webui": webui(item)}
    if item.type == "comment":  # container (its page), extensions (location, inline properties)
        comment_parts(out, item, store, base, expand)
    elif item.type == "attachment":  # container, extensions (mediaType, fileSize), the download link
        attachment_parts(out, item, store, base, expand)
    return out


def _expandable(item: Item, expand: Expand) -> dict[str, str]:
    links = {"container": f"/rest/api/space/{item.space}", "space": f"/rest/api/space/{item.space}",
             "children": f"/rest/api/content/{item.id}/child",
             "descendants": f"/rest/api/content/{item.id}/descendant",
             "history": f"/rest/api/content/{item.id}/history",
             "restrictions": f"/rest/api/content/{item.id}/restriction/byOperation",
             "version": ""}
    return {k: links.get(k, "") for k in _TOP_EXPANDABLE if k not in expand}


def error_json(status: int, message: str) -> dict[str, Any]:
    """Confluence's v1 error body."""
    return {"statusCode": status,
            "data": {"authorized": status not in (401, 403), "valid": status != 400, "errors": [],
                     "successful": False},
            "message": message}
