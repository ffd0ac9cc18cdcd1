"""Confluence's view rule as pure functions, over access classes.

Every page belongs to one access class: its space, plus the read restrictions on the chain from its
root ancestor down to itself (only the restricted ones), or "unresolved" when an input is missing
(a space whose permissions could not be read, an ancestor the ledger does not hold). Pages with the
same class are visible to the same people, so retrieval filters on the class id (`acl`) — a handful
of ids per query, in Chroma's `where` and in the lexical SQL — instead of on page ids.

A class is visible to a principal when it is resolved, the space rule lets them in (a listed user,
a member of a listed group, or anonymous access), and every restriction on the chain is satisfied
(a listed user, or a member of a listed group). A space permission or a group's membership changes
who sees a class, never the class itself; a restriction changes the class of the pages below it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Principal:
    """Who is asking. `account_id` None: anonymous, or an identity the ledger does not know (both
    see only what anonymous users may see). `groups`: the groups the pulls found them in."""

    account_id: str | None
    groups: frozenset[str] = frozenset()
    label: str = "anonymous"
    known: bool = False

    def describe(self) -> str:
        if self.account_id is None:
            return f"{self.label} (unknown: sees what anonymous users see)" if self.label != "anonymous" \
                else "anonymous"
        groups = ", ".join(sorted(self.groups)) or "no groups"
        return f"{self.label} ({self.account_id}; groups: {groups})"


ANONYMOUS = Principal(None)


def _listed(who: Principal, users: Iterable[str], groups: Iterable[str]) -> str:
    """Why a list of users and groups lets `who` in ('' when it does not): the one test a space
    permission and a read restriction share."""
    if who.account_id is not None and who.account_id in users:
        return "listed as a user"
    shared = sorted(who.groups.intersection(groups))
    return f"member of {', '.join(shared)}" if shared else ""


@dataclass(frozen=True)
class Restriction:
    """One read restriction: on `page_id` (the page itself or an ancestor)."""

    page_id: str
    title: str
    users: tuple[str, ...]
    groups: tuple[str, ...]

    def satisfied_by(self, who: Principal) -> bool:
        return bool(_listed(who, self.users, self.groups))

    def why(self, who: Principal) -> str:
        return _listed(who, self.users, self.groups) or "neither listed nor in a listed group"


@dataclass(frozen=True)
class SpaceRule:
    """Who may view a space (Confluence's read/space permission)."""

    space_key: str
    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    anonymous: bool = False

    def allows(self, who: Principal) -> bool:
        return self.anonymous or bool(_listed(who, self.users, self.groups))

    def why(self, who: Principal) -> str:
        if self.anonymous:
            return "anonymous access is on"
        return _listed(who, self.users, self.groups) or "not listed, in no listed group, no anonymous access"


@dataclass(frozen=True)
class AccessClass:
    """Pages visible to the same people. `restrictions`: (users, groups) of each restricted page
    on the chain, sorted; `unresolved`: why the class cannot be decided ('' when it can)."""

    acl: str
    space_key: str
    restrictions: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()
    unresolved: str = ""

    def to_json(self) -> str:
        return json.dumps([[list(u), list(g)] for u, g in self.restrictions])


def acl_of(space_key: str, chain: Sequence[Restriction] | None, unresolved: str = "") -> AccessClass:
    """The class of a page in `space_key` whose restricted chain is `chain` (None: unresolved)."""
    if chain is None or unresolved:
        reason = unresolved or "unresolved"
        digest = hashlib.sha1(json.dumps(["?", space_key, reason]).encode()).hexdigest()[:16]
        return AccessClass("u" + digest, space_key, (), reason)
    parts = sorted({(tuple(sorted(r.users)), tuple(sorted(r.groups))) for r in chain})
    digest = hashlib.sha1(json.dumps([space_key, parts]).encode()).hexdigest()[:16]
    return AccessClass("a" + digest, space_key, tuple(parts))


def visible(cls: AccessClass, spaces: Mapping[str, SpaceRule], who: Principal) -> bool:
    """May `who` view pages of class `cls`? Unresolved classes and unknown spaces: never."""
    if cls.unresolved:
        return False
    rule = spaces.get(cls.space_key)
    if rule is None or not rule.allows(who):
        return False
    probe = [Restriction("", "", users, groups) for users, groups in cls.restrictions]
    return all(r.satisfied_by(who) for r in probe)


def visible_acls(classes: Iterable[AccessClass], spaces: Mapping[str, SpaceRule],
                 who: Principal) -> tuple[str, ...]:
    return tuple(sorted(c.acl for c in classes if visible(c, spaces, who)))


@dataclass(frozen=True)
class Explanation:
    """Why `who` may or may not read a page: the space rule and each restriction on the chain."""

    page_id: str
    title: str
    principal: str
    allowed: bool
    steps: tuple[dict[str, Any], ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"page_id": self.page_id, "title": self.title, "principal": self.principal,
                "allowed": self.allowed, "steps": [dict(s) for s in self.steps]}

    def lines(self) -> list[str]:
        verdict = "MAY read" if self.allowed else "may NOT read"
        out = [f"{self.principal} {verdict} {self.page_id} {self.title!r}"]
        for step in self.steps:
            mark = "ok " if step["ok"] else "NO "
            out.append(f"  {mark} {step['check']}: {step['why']}")
        return out


def explain(page_id: str, title: str, space_key: str, rule: SpaceRule | None,
            chain: Sequence[Restriction] | None, who: Principal, unresolved: str = "") -> Explanation:
    """The view rule applied step by step (every step is shown, not only the first that fails)."""
    steps: list[dict[str, Any]] = []
    if unresolved or chain is None:
        steps.append({"check": "access resolved", "ok": False,
                      "why": f"{unresolved or 'unresolved'}: hidden from everyone but the operator"})
    if rule is None:
        steps.append({"check": f"space {space_key}", "ok": False,
                      "why": "its permissions were not pulled: hidden"})
    else:
        steps.append({"check": f"space {space_key}", "ok": rule.allows(who), "why": rule.why(who)})
    for r in chain or ():
        where = ("own restriction" if r.page_id == page_id
                 else f"restriction on ancestor {r.page_id} {r.title!r}")
        listed = ", ".join([*r.users, *(f"group {g}" for g in r.groups)]) or "nobody"
        steps.append({"check": where, "ok": r.satisfied_by(who), "why": f"{r.why(who)} (allows {listed})",
                      "restricted_page": r.page_id})
    if not chain and chain is not None:
        steps.append({"check": "restrictions", "ok": True,
                      "why": "no restriction on the page or its ancestors"})
    allowed = all(s["ok"] for s in steps)
    return Explanation(page_id, title, who.describe(), allowed, tuple(steps))
