"""The emulator's in-memory Confluence site: spaces, users, content items, a settable clock.

Bodies are kept zlib-compressed (a 5 KB storage body takes ~1.5 KB), so 20,000 generated pages
stay small. Every mutation takes the store's lock; reads take a snapshot of the id list, so a
paging client sees each mutation on its next request. Times are epoch milliseconds from the
store's own `Clock`, never the wall clock directly.
"""

from __future__ import annotations

import base64
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

STATUSES = ("current", "trashed", "deleted", "historical", "draft")
DEFAULT_GROUPS = ("confluence-users", "administrators", "site-admins")
ALL_USERS_GROUP = "confluence-users"  # every user is a member unless its members are set explicitly


class NotFound(KeyError):
    """No content (or space) with that id."""


def parse_iso(value: str) -> int:
    """ISO 8601 (a trailing Z allowed; a date alone is midnight UTC) to epoch milliseconds."""
    text = value.strip().replace("Z", "+00:00")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def iso(ms: int) -> str:
    """Epoch milliseconds to Cloud's timestamp form, e.g. 2023-02-17T09:08:30.734Z."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


class Clock:
    """The emulator's clock: wall time plus an offset, or a fixed instant that then ticks on."""

    def __init__(self, start_ms: int | None = None) -> None:
        self._lock = threading.Lock()
        self._base_ms = start_ms if start_ms is not None else int(time.time() * 1000)
        self._mono = time.monotonic()

    def now_ms(self) -> int:
        with self._lock:
            return self._base_ms + int((time.monotonic() - self._mono) * 1000)

    def set(self, ms: int) -> None:
        with self._lock:
            self._base_ms, self._mono = ms, time.monotonic()

    def advance(self, minutes: float) -> None:
        with self._lock:
            self._base_ms += int(minutes * 60_000)


@dataclass(slots=True)
class User:
    account_id: str
    display_name: str
    email: str


@dataclass(frozen=True, slots=True)
class SpacePerm:
    """Who may view a space (Cloud's read/space permission): listed users, members of listed
    groups, and everyone (signed in or not) when `anonymous` is on."""

    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    anonymous: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpacePerm:
        """`{"users": [...], "groups": [...], "anonymous": bool}` (each key optional)."""
        users, groups = data.get("users") or [], data.get("groups") or []
        if not isinstance(users, list) or not isinstance(groups, list):
            raise ValueError("permissions: users and groups must be lists")
        return cls(tuple(str(u) for u in users), tuple(str(g) for g in groups),
                   bool(data.get("anonymous", False)))

    def to_dict(self) -> dict[str, Any]:
        return {"users": list(self.users), "groups": list(self.groups), "anonymous": self.anonymous}


@dataclass(slots=True)
class Space:
    key: str
    name: str
    id: int
    type: str = "global"
    description: str = ""
    homepage_id: str | None = None
    perm: SpacePerm | None = None  # None: every group of the site may read, the creator too


@dataclass(slots=True)
class Item:
    """One page or blog post. `body_z` is the zlib-compressed storage XHTML."""

    id: str
    type: str
    space: str
    title: str
    body_z: bytes
    parent_id: str | None = None
    labels: tuple[str, ...] = ()
    author: str = ""
    created_ms: int = 0
    updated_ms: int = 0
    version: int = 1
    status: str = "current"
    read_users: tuple[str, ...] = ()
    read_groups: tuple[str, ...] = ()
    position: int = 0
    message: str = ""
    location: str = ""   # a comment's: "footer" or "inline"
    selection: str = ""  # an inline comment's annotated text (Cloud's inlineProperties.originalSelection)
    media_type: str = ""  # an attachment's; its bytes are body_z (emulator/attachments.py)

    @property
    def body(self) -> str:
        return zlib.decompress(self.body_z).decode("utf-8")

    @property
    def id_key(self) -> tuple[int, str]:
        return (int(self.id), "") if self.id.isdigit() else (1 << 62, self.id)


def pack_body(body: str) -> bytes:
    return zlib.compress(body.encode("utf-8"), 1)


@dataclass
class Store:
    """The whole site. Build one with `Store.build(items, spaces, users, groups=...)`."""

    clock: Clock = field(default_factory=Clock)
    items: dict[str, Item] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    spaces: dict[str, Space] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    groups: list[str] = field(default_factory=lambda: list(DEFAULT_GROUPS))
    members: dict[str, list[str]] = field(default_factory=dict)  # explicit group members only
    audit: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    default_author: str = "557058:emulator-admin"
    generation: int = 0  # bumped by every mutation: readers cache query results per generation
    _next_id: int = 100000

    # ---- building -------------------------------------------------------------------------
    @classmethod
    def build(cls, items: Iterable[dict[str, Any]], spaces: Iterable[dict[str, Any]] = (),
              users: Iterable[dict[str, Any]] = (), clock: Clock | None = None,
              groups: Iterable[dict[str, Any]] = ()) -> Store:
        """`groups`: `{"name", "members": [account ids]}` lines; a space line may carry
        `"permissions": {"users", "groups", "anonymous"}` (see emulator/corpus.py)."""
        store = cls(clock=clock or Clock())
        for user in users:
            store.add_user(user["accountId"], user.get("displayName", user["accountId"]),
                           user.get("email", ""))
        if store.users:
            store.default_author = next(iter(store.users))
        for space in spaces:
            added = store.add_space(space["key"], space.get("name", space["key"]),
                                    space.get("type", "global"), space.get("description", ""))
            if space.get("permissions") is not None:
                added.perm = SpacePerm.from_dict(space["permissions"])
                for name in added.perm.groups:
                    store.know_group(name)
        for line in groups:
            name = str(line["name"])
            store.know_group(name)
            store.members[name] = list(dict.fromkeys(str(m) for m in line.get("members") or ()))
        for raw in items:
            store.create(raw, _loading=True)
        for group in sorted({g for it in store.items.values() for g in it.read_groups}):
            if group not in store.groups:
                store.groups.append(group)
        return store

    def add_user(self, account_id: str, display_name: str, email: str = "") -> User:
        user = User(account_id, display_name, email)
        self.users[account_id] = user
        return user

    def user(self, account_id: str) -> User:
        found = self.users.get(account_id)
        return found or User(account_id, account_id.split(":")[-1], "")

    def add_space(self, key: str, name: str, kind: str = "global", description: str = "") -> Space:
        space = Space(key, name, 98304 + 65536 * len(self.spaces) + 4, kind, description)
        self.spaces[key] = space
        self.audit.append(self.audit_record("Space created", "Spaces", name, "Space",
                                             [{"name": key, "objectType": "Space"}]))
        return space

    def audit_record(self, summary: str, category: str, name: str, kind: str,
                      associated: list[dict[str, str]]) -> dict[str, Any]:
        return {"author": {"type": "user", "displayName": "System", "operations": None,
                           "isExternalCollaborator": False, "accountType": "",
                           "publicName": "Unknown user", "externalCollaborator": False},
                "remoteAddress": "127.0.0.1", "creationDate": str(self.clock.now_ms()),
                "summary": summary, "description": "", "category": category, "sysAdmin": False,
                "superAdmin": False, "affectedObject": {"name": name, "objectType": kind},
                "changedValues": [], "associatedObjects": associated}

    # ---- reading --------------------------------------------------------------------------
    def get(self, content_id: str) -> Item:
        item = self.items.get(str(content_id))
        if item is None:
            raise NotFound(content_id)
        return item

    def snapshot(self) -> list[Item]:
        """Every item (any status), in site order (creation order: parents before children)."""
        with self.lock:
            return [self.items[i] for i in self.order]

    def select(self, types: Iterable[str] | None = None, spaces: Iterable[str] | None = None,
               statuses: Iterable[str] = ("current",)) -> Iterator[Item]:
        want_types = set(types) if types else None
        want_spaces = set(spaces) if spaces else None
        want_status = set(statuses)
        anystatus = "any" in want_status
        for item in self.snapshot():
            if want_types is not None and item.type not in want_types:
                continue
            if want_spaces is not None and item.space not in want_spaces:
                continue
            if not anystatus and item.status not in want_status:
                continue
            yield item

    def ancestors(self, item: Item) -> list[Item]:
        """Root first, like Cloud's `ancestors` expansion."""
        chain: list[Item] = []
        seen = {item.id}
        parent = item.parent_id
        while parent and parent in self.items and parent not in seen:
            seen.add(parent)
            chain.append(self.items[parent])
            parent = self.items[parent].parent_id
        chain.reverse()
        return chain

    # ---- mutating -------------------------------------------------------------------------
    def create(self, raw: dict[str, Any], _loading: bool = False) -> Item:
        """Add a corpus item (the corpus format of DESIGN.md); returns it. Missing id: assigned."""
        with self.lock:
            content_id = str(raw.get("id") or self._new_id())
            if content_id in self.items:
                raise ValueError(f"content {content_id} already exists")
            space = str(raw.get("space") or "DOCS")
            if space not in self.spaces:
                self.add_space(space, space.title())
            now = self.clock.now_ms()
            created = parse_iso(raw["created"]) if raw.get("created") else now
            updated = parse_iso(raw["updated"]) if raw.get("updated") else max(created, now)
            restr = raw.get("restrictions") or {}
            item = Item(
                id=content_id, type=raw.get("type", "page"), space=space,
                title=str(raw.get("title") or f"Untitled {content_id}"),
                body_z=(zlib.compress(base64.b64decode(raw["data_b64"]), 1) if raw.get("data_b64")
                        else pack_body(str(raw.get("body") or ""))),
                parent_id=str(raw["parent_id"]) if raw.get("parent_id") else None,
                labels=tuple(raw.get("labels") or ()),
                author=str(raw.get("author") or self.default_author),
                created_ms=created, updated_ms=updated, version=int(raw.get("version") or 1),
                status=str(raw.get("status") or "current"),
                read_users=tuple(restr.get("users") or ()),
                read_groups=tuple(restr.get("groups") or ()), position=len(self.order),
                location=str(raw.get("location") or ("footer" if raw.get("type") == "comment" else "")),
                selection=str(raw.get("selection") or ""), media_type=str(raw.get("media_type") or ""))
            self.generation += 1
            self.items[content_id] = item
            self.order.append(content_id)
            if content_id.isdigit():
                self._next_id = max(self._next_id, int(content_id) + 1)
            home = self.spaces[space]
            if home.homepage_id is None and item.type == "page" and item.parent_id is None:
                home.homepage_id = content_id
            return item

    def _new_id(self) -> str:
        while str(self._next_id) in self.items:
            self._next_id += 1
        self._next_id += 1
        return str(self._next_id - 1)

    def edit(self, content_id: str, *, title: str | None = None, body: str | None = None,
             parent_id: str | None = None, labels: Iterable[str] | None = None,
             restrictions: dict[str, Any] | None = None, message: str = "") -> Item:
        """Change what is given; bump the version and lastmodified to the clock's now."""
        with self.lock:
            item = self.get(content_id)
            if title is not None:
                item.title = title
            if body is not None:
                item.body_z = pack_body(body)
            if parent_id is not None:
                item.parent_id = str(parent_id) or None
            if labels is not None:
                item.labels = tuple(labels)
            if restrictions is not None:
                item.read_users = tuple(restrictions.get("users") or ())
                item.read_groups = tuple(restrictions.get("groups") or ())
            self.generation += 1
            item.version += 1
            item.message = message
            item.updated_ms = max(self.clock.now_ms(), item.updated_ms)
            return item

    def set_status(self, content_id: str, status: str) -> Item:
        """Trash (status trashed) or restore (status current). Like Cloud, no new version is made;
        lastmodified moves to now so a time-windowed sweep can notice."""
        with self.lock:
            item = self.get(content_id)
            if item.status != status:
                self.generation += 1
                item.status = status
                item.updated_ms = max(self.clock.now_ms(), item.updated_ms)
            return item

    def move(self, content_id: str, space: str, parent_id: str | None = None) -> Item:
        """Move a page, with its descendants, to another space (under `parent_id`, or at its top).
        Like a move in Cloud, no new version is made and lastmodified stays: no window sees it."""
        with self.lock:
            item = self.get(content_id)
            if space not in self.spaces:
                raise NotFound(space)
            moving = [item, *(i for i in self.items.values() if item.id in {a.id for a in self.ancestors(i)})]
            for one in moving:
                one.space = space
            item.parent_id = str(parent_id) if parent_id else None
            self.generation += 1
            return item

    def purge(self, content_id: str) -> None:
        """Remove for good: every later read of it is a 404."""
        with self.lock:
            self.get(content_id)
            self.generation += 1
            del self.items[str(content_id)]
            self.order.remove(str(content_id))
            for space in self.spaces.values():
                if space.homepage_id == str(content_id):
                    space.homepage_id = None

    # ---- groups ---------------------------------------------------------------------------
    def members_of(self, group: str) -> list[str]:
        """A group's members: its explicit list; every user for confluence-users when it has
        none; nobody for any other group without one."""
        explicit = self.members.get(group)
        if explicit is not None:
            return list(explicit)
        return list(self.users) if group == ALL_USERS_GROUP else []

    def know_group(self, group: str) -> None:
        if group not in self.groups:
            self.groups.append(group)
