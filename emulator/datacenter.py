"""The emulator's Data Center mode (`kb emulator --datacenter`): the same site, served as
Confluence Data Center / Server answers REST v1.

What differs from Cloud, after Atlassian's Data Center REST documentation (cited in the README):
- the REST base is the site's context path: `{context}/rest/api/...` ("" or e.g. "/confluence";
  no `/wiki`), and `_links.base` / `_links.context` say so;
- auth is a bearer personal access token (`Authorization: Bearer PAT`), or Server's basic auth
  (username + password); see server.py;
- paging is start/limit only: `_links.next` is `...?limit=N&start=M`, never a cursor; limits are
  capped at 200 for plain listings, 50 with bodies expanded (chosen here, as for Cloud);
- people carry `userKey` and `username` (no accountId, no email): `{"type": "known", "username",
  "userKey", "profilePicture", "displayName"}`; groups have a name and no id;
- space permissions are not an expansion of the space: `GET /rest/api/space/{key}/permissions`
  answers a bare array of grants `{"operation": {"operationKey", "targetType"}, "subject": {"type":
  "user" | "group" | "anonymous", ...}, "spaceKey"}`; a group's members are at
  `GET /rest/api/group/{groupName}/member` (start/limit);
- the version is in `GET /rest/applinks/1.0/manifest` (XML), as on any Atlassian server product;
- links to pages are `/pages/viewpage.action?pageId=ID`, spaces `/display/KEY`.
The shapes are produced by rewriting Cloud's (render.py) on the way out, so both modes serve one
store and one set of handlers.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from emulator.access import effective_perm
from emulator.api import Query, Reply, Site, error
from emulator.store import Store, User

DC_VERSION = "9.2.1"
DC_MAX_LIMIT = 200
_MENTION = re.compile(r'ri:account-id="([^"]*)"')
_PAGE_LINK = re.compile(r"/spaces/[^/]+/(?:pages|blog/\d{4}/\d{2}/\d{2})/(\d+)(?:/.*)?")


def user_key(account_id: str) -> str:
    """A Data Center user key (32 hex digits) for one of the store's accounts."""
    return hashlib.md5(account_id.encode()).hexdigest()


def username(user: User) -> str:
    """The login name Data Center shows: the email's local part (the account id without one)."""
    return user.email.split("@", 1)[0] if user.email else user.account_id


def user_json(user: User, base: str) -> dict[str, Any]:
    key = user_key(user.account_id)
    return {"type": "known", "username": username(user), "userKey": key,
            "profilePicture": {"path": "/images/icons/profilepics/default.svg", "width": 48,
                               "height": 48, "isDefault": True},
            "displayName": user.display_name,
            "_links": {"self": f"{base}/rest/api/user?key={key}"}, "_expandable": {"status": ""}}


class DataCenterSite(Site):
    """A Site answering as Confluence Data Center: see the module docstring."""

    cursor_paging = False
    max_limit = DC_MAX_LIMIT

    def __init__(self, store: Store, base: str, email: str, *, context: str = "",
                 timezone: str = "UTC", version: str = DC_VERSION) -> None:
        self.context, self.timezone, self.version = context, timezone, version
        super().__init__(store, base, email)
        cloud_only = (self.group_members, self.group_member_by_name, self.system_info)
        self.routes = [r for r in self.routes if r[2] not in cloud_only] + [
            ("GET", self._path(r"space/([^/]+)/permissions/?"), self.space_permissions),
            ("GET", self._path(r"group/([^/]+)/member/?"), self.members_by_name),
            ("GET", re.compile(re.escape(context) + r"/rest/applinks/1\.0/manifest/?"), self.manifest),
        ]

    def route(self, method: str, path: str, query: Query) -> Reply:
        reply = super().route(method, path, query)
        if reply.status == 200 and reply.payload is not None and reply.raw is None:
            reply.payload = self._reshape(reply.payload)
        return reply

    # ---- Cloud's shapes to Data Center's -------------------------------------------------------
    def _reshape(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self._reshape(x) for x in node]
        if not isinstance(node, dict):
            return node
        if "accountId" in node and node.get("type") == "known":
            user = self.store.users.get(node["accountId"])
            if user is not None:
                return user_json(user, self.base)
        out = {k: self._reshape(v) for k, v in node.items() if k not in ("accountId", "permissions")}
        if out.get("representation") == "storage" and isinstance(out.get("value"), str):
            # a mention names the user by key on Data Center: <ri:user ri:userkey="..."/>
            out["value"] = _MENTION.sub(lambda m: f'ri:userkey="{user_key(m.group(1))}"', out["value"])
        if out.get("type") == "group":
            out.pop("id", None)
            out["_links"] = {"self": f"{self.base}/rest/api/group/{out.get('name')}"}
        links = out.get("_links")
        if isinstance(links, dict) and isinstance(links.get("webui"), str):
            links["webui"] = _webui(links["webui"])
        expandable = out.get("_expandable")
        if isinstance(expandable, dict):
            expandable.pop("permissions", None)
        return out

    # ---- Data Center's own routes ----------------------------------------------------------------
    def space_permissions(self, query: Query, key: str) -> Reply:
        """GET /rest/api/space/{key}/permissions: every grant of the space, one per subject and
        operation (the read/space grants decide who may view; the creator may also create pages)."""
        space = self.store.spaces.get(key)
        if space is None:
            return error(404, f"No space with key : {key}")
        perm = effective_perm(self.store, space)

        def grant(operation: str, target: str, subject: dict[str, Any]) -> dict[str, Any]:
            return {"operation": {"operationKey": operation, "targetType": target}, "subject": subject,
                    "spaceKey": key, "spaceId": space.id}

        def person(account: str) -> dict[str, Any]:
            return {**user_json(self.store.user(account), self.base), "type": "user"}

        out = [grant("read", "space", person(a)) for a in perm.users]
        out += [grant("read", "space", {"type": "group", "name": g, "displayName": g}) for g in perm.groups]
        if perm.anonymous:
            out.append(grant("read", "space", {"type": "anonymous", "displayName": "Anonymous"}))
        out.append(grant("create", "page", person(self.store.default_author)))
        return Reply(200, out)

    def members_by_name(self, query: Query, name: str) -> Reply:
        """GET /rest/api/group/{groupName}/member: the group's users, start/limit paged."""
        if name not in self.store.groups:
            return error(404, f"No group found with name : {name}")
        return self._members(query, name, f"{self.context}/rest/api/group/{name}/member")

    def manifest(self, query: Query) -> Reply:
        """GET /rest/applinks/1.0/manifest: the product and its version (XML)."""
        xml = (f"<manifest><id>kb-emulator</id><name>confluence-kb emulator</name>"
               f"<typeId>confluence</typeId><version>{self.version}</version>"
               f"<buildNumber>9207</buildNumber><url>{self.base}</url></manifest>")
        return Reply(200, None, {"Content-Type": "application/xml"}, raw=xml.encode())


def _webui(link: str) -> str:
    match = _PAGE_LINK.fullmatch(link)
    if match:
        return f"/pages/viewpage.action?pageId={match.group(1)}"
    if link.startswith("/spaces/") and link.count("/") == 2:
        return "/display/" + link.split("/")[2]
    return link
