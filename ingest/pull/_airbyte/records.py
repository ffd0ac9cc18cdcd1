"""Airbyte's records (Confluence's JSON, as cached) as our records: `Page`, `SweepEntry`, names.

Airbyte's dict keys stay in this package: callers get `Page`, `SweepEntry` and space names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ingest.access.rules import SpaceRule
from ingest.records import Ancestor, Kind, Page

CONTENT_STREAMS = {"pages": "page", "blog_posts": "blogpost"}
SWEEP_STREAMS = ("content_ids", "trashed_ids")


@dataclass(frozen=True)
class SweepEntry:
    """One row of the id sweep: what exists, without its body."""

    id: str
    kind: str
    status: str
    version: int
    title: str = ""
    space_key: str = ""
    ancestors: tuple[Ancestor, ...] | None = None  # None: the listing did not say
    read: tuple[tuple[str, ...], tuple[str, ...]] | None = None  # own read restriction; None: not listed


def get_path(obj: Any, *path: str, default: Any = None) -> Any:
    """obj[path[0]][path[1]]..., or `default` where a step is missing or not a mapping."""
    for key in path:
        if not isinstance(obj, Mapping):
            return default
        obj = obj.get(key)
    return default if obj is None else obj


def user_key(user: Mapping[str, Any]) -> str:
    """A person's stable id: Cloud's accountId, Data Center's userKey (as cached: lower-cased keys)."""
    return str(user.get("accountId") or user.get("accountid") or user.get("userKey") or user.get("userkey")
               or "")


def _ancestors(record: Mapping[str, Any]) -> tuple[Ancestor, ...] | None:
    raw = record.get("ancestors")
    if raw is None:
        return None
    return tuple(Ancestor(str(a.get("id")), str(a.get("title") or "")) for a in raw if isinstance(a, Mapping))


def _space_key(record: Mapping[str, Any]) -> str:
    key = get_path(record, "space", "key")
    if key:
        return str(key)
    container = str(get_path(record, "_expandable", "space", default=""))  # stock: "/rest/api/space/KEY"
    return container.rsplit("/", 1)[-1] if container else ""


def to_page(record: Mapping[str, Any], *, site: str, space_names: Mapping[str, str]) -> Page:
    """A Confluence content record (ours or the stock connector's) as a Page."""
    kind: Kind = "blogpost" if record.get("type") == "blogpost" else "page"
    space = _space_key(record)
    restrictions = get_path(record, "restrictions", "read", "restrictions", default={})
    webui = str(get_path(record, "_links", "webui", default=""))
    return Page(
        id=str(record["id"]), kind=kind, space_key=space, title=str(record.get("title") or ""),
        url=(site + webui) if webui.startswith("/") else webui,
        version=int(get_path(record, "version", "number", default=0)),
        updated_at=str(get_path(record, "version", "when", default="")),
        body_html=str(get_path(record, "body", "storage", "value", default="")),
        space_name=space_names.get(space) or str(get_path(record, "space", "name", default="")),
        created_at=str(get_path(record, "history", "createdDate", default="")),
        author=user_key(get_path(record, "history", "createdBy", default={}))
        or user_key(get_path(record, "version", "by", default={})),
        status=str(record.get("status") or "current"),
        labels=tuple(str(x.get("name"))
                     for x in get_path(record, "metadata", "labels", "results", default=[])),
        ancestors=_ancestors(record) or (),
        read_users=tuple(user_key(u) for u in get_path(restrictions, "user", "results", default=[])),
        read_groups=tuple(str(g.get("name"))
                          for g in get_path(restrictions, "group", "results", default=[])),
    )


def user_names(record: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(accountId or userKey, display name) of the people a content record names: its creator, its
    last editor and the users of its read restrictions. What `clean` shows for a mention."""
    people = [get_path(record, "history", "createdBy"), get_path(record, "version", "by")]
    people += get_path(record, "restrictions", "read", "restrictions", "user", "results", default=[])
    for person in people:
        if isinstance(person, Mapping) and user_key(person):
            name = person.get("displayName") or person.get("publicName")
            if name:
                yield user_key(person), str(name)


def to_sweep_entry(record: Mapping[str, Any]) -> SweepEntry:
    return SweepEntry(id=str(record["id"]), kind="blogpost" if record.get("type") == "blogpost" else "page",
                      status=str(record.get("status") or "current"),
                      version=int(get_path(record, "version", "number", default=0)),
                      title=str(record.get("title") or ""), space_key=_space_key(record),
                      ancestors=_ancestors(record), read=_read(record.get("read")))


def _read(raw: Any) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    if not isinstance(raw, Mapping):
        return None
    return (tuple(str(u) for u in raw.get("users") or () if u),
            tuple(str(g) for g in raw.get("groups") or () if g))


def to_space_rule(record: Mapping[str, Any]) -> SpaceRule | None:
    """Who may view a space, from a v1 space record with expand=permissions (read/space entries:
    users, groups, anonymous access). None when the record carries no permissions (not expanded,
    or not readable by the ingest account): the space stays unresolved, its pages hidden."""
    perms = record.get("permissions")
    if not isinstance(perms, list) or not perms:
        return None
    users: set[str] = set()
    groups: set[str] = set()
    anonymous = False
    for perm in perms:
        if not isinstance(perm, Mapping):
            continue
        op = perm.get("operation") or {}
        if op.get("operation") != "read" or op.get("targetType") != "space":
            continue
        anonymous = anonymous or bool(perm.get("anonymousAccess"))
        users.update(user_key(u) for u in get_path(perm, "subjects", "user", "results", default=[])
                     if isinstance(u, Mapping) and user_key(u))
        groups.update(str(g["name"]) for g in get_path(perm, "subjects", "group", "results", default=[])
                      if isinstance(g, Mapping) and g.get("name"))
    return SpaceRule(str(record.get("key")), frozenset(users), frozenset(groups), anonymous)


def space_people(record: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(accountId, email, display name) of the users a space's permissions list."""
    for perm in record.get("permissions") or ():
        users = get_path(perm, "subjects", "user", "results", default=[]) if isinstance(perm, Mapping) else []
        for user in users:
            if isinstance(user, Mapping) and user_key(user):
                yield person(user)


def person(user: Mapping[str, Any]) -> tuple[str, str, str]:
    """(id, login, display name) of a v1 User: on Cloud (accountId, email, name), on Data Center
    (userKey, username, name): a principal is then named by email or username, or by the id. A
    cached top-level record has its keys lower-cased by the cache (accountid, displayname); nested
    ones keep Confluence's case."""
    def get(key: str) -> str:
        return str(user.get(key) or user.get(key.lower()) or "")

    return user_key(user), get("username") or get("email"), get("displayName") or get("publicName")


def restriction_people(record: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(accountId, email, display name) of the users a content record's read restriction lists."""
    for user in get_path(record, "restrictions", "read", "restrictions", "user", "results", default=[]):
        if isinstance(user, Mapping) and user_key(user):
            yield person(user)


def dc_space_rules(records: Iterator[Mapping[str, Any]]) -> dict[str, SpaceRule]:
    """Who may view each space, from Data Center's `GET /rest/api/space/{key}/permissions` (one
    record per grant: {operation: {operationKey, targetType}, subject: {type, ...}}, tagged with
    `space_key`). A space without a read/space grant listed is absent: unresolved, hidden."""
    found: dict[str, tuple[set[str], set[str], list[bool]]] = {}
    for record in records:
        op = record.get("operation") or {}
        if op.get("operationKey") != "read" or op.get("targetType") != "space":
            continue
        users, groups, anonymous = found.setdefault(str(record.get("space_key")), (set(), set(), [False]))
        subject = record.get("subject") or {}
        kind = subject.get("type")
        if kind == "user" and user_key(subject):
            users.add(user_key(subject))
        elif kind == "group" and subject.get("name"):
            groups.add(str(subject["name"]))
        elif kind == "anonymous":
            anonymous[0] = True
    return {key: SpaceRule(key, frozenset(u), frozenset(g), a[0]) for key, (u, g, a) in found.items()}


def dc_space_people(records: Iterator[Mapping[str, Any]]) -> Iterator[tuple[str, str, str]]:
    """(userKey, username, display name) of the users Data Center's space permissions name."""
    for record in records:
        subject = record.get("subject") or {}
        if subject.get("type") == "user" and user_key(subject):
            yield person(subject)
