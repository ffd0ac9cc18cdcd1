"""Airbyte's records (Confluence's JSON, as cached) as our records: `Page`, `SweepEntry`, names.

Airbyte's dict keys stay in this package: callers get `Page`, `SweepEntry` and space names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

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


def get_path(obj: Any, *path: str, default: Any = None) -> Any:
    """obj[path[0]][path[1]]..., or `default` where a step is missing or not a mapping."""
    for key in path:
        if not isinstance(obj, Mapping):
            return default
        obj = obj.get(key)
    return default if obj is None else obj


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
        author=str(get_path(record, "history", "createdBy", "accountId", default="")
                   or get_path(record, "version", "by", "accountId", default="")),
        status=str(record.get("status") or "current"),
        labels=tuple(str(x.get("name"))
                     for x in get_path(record, "metadata", "labels", "results", default=[])),
        ancestors=_ancestors(record) or (),
        read_users=tuple(str(u.get("accountId"))
                         for u in get_path(restrictions, "user", "results", default=[])),
        read_groups=tuple(str(g.get("name"))
                          for g in get_path(restrictions, "group", "results", default=[])),
    )


def user_names(record: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(accountId, display name) of the people a content record names: its creator, its last
    editor and the users of its read restrictions. What `clean` shows for a mention."""
    people = [get_path(record, "history", "createdBy"), get_path(record, "version", "by")]
    people += get_path(record, "restrictions", "read", "restrictions", "user", "results", default=[])
    for person in people:
        if isinstance(person, Mapping) and person.get("accountId"):
            name = person.get("displayName") or person.get("publicName")
            if name:
                yield str(person["accountId"]), str(name)


def to_sweep_entry(record: Mapping[str, Any]) -> SweepEntry:
    return SweepEntry(id=str(record["id"]), kind="blogpost" if record.get("type") == "blogpost" else "page",
                      status=str(record.get("status") or "current"),
                      version=int(get_path(record, "version", "number", default=0)),
                      title=str(record.get("title") or ""), space_key=_space_key(record),
                      ancestors=_ancestors(record))
