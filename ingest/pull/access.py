"""What access depends on, pulled with the content: space rules, groups and their members, the
people they name, and each page's own read restriction as listed this run.

Confluence changes none of a page's version or lastmodified when a restriction, a space permission
or a group's membership changes, so the pull reads them on every run (the spaces listing with
expand=permissions, the groups and their members; restrictions ride on the id sweep and on every
pulled page) and rewrites them in its last transaction. Then `LedgerAccess.recompute()` gives every
page its access class: a change is a metadata update, nothing is re-embedded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ingest.access.rules import SpaceRule
from ingest.pull import _airbyte as src
from ingest.storage.access import LedgerAccess, Recomputed
from ingest.storage.ledger import Ledger

ACCESS_STREAMS = ("spaces", "groups", "group_members")
DC_ACCESS_STREAMS = (*ACCESS_STREAMS, "space_permissions")  # Data Center: permissions per space


def access_streams(deployment: str) -> tuple[str, ...]:
    """The streams access is read from: Cloud expands permissions on the spaces listing, Data Center
    lists them per space (`space/{key}/permissions`)."""
    return DC_ACCESS_STREAMS if deployment == "datacenter" else ACCESS_STREAMS
Read = tuple[tuple[str, ...], tuple[str, ...]]


@dataclass
class PulledAccess:
    """The access inputs one pull read (`None` rules: the listing was not read this run)."""

    rules: list[SpaceRule] | None = None
    unresolved_spaces: list[str] = field(default_factory=list)
    members: dict[str, set[str]] | None = None
    people: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    restrictions: dict[str, Read] = field(default_factory=dict)
    unreadable_groups: list[str] = field(default_factory=list)  # group listings refused (403): empty

    def add_people(self, people: Iterable[tuple[str, str, str]]) -> None:
        for account_id, email, name in people:
            old = self.people.get(account_id, ("", "", ""))
            self.people[account_id] = (account_id, email or old[1], name or old[2])

    def note_record(self, record: Mapping[str, Any]) -> None:
        """A pulled content record: the people its restriction names."""
        self.add_people(src.restriction_people(record))


def read_access(cache: Any, pulled: PulledAccess, deployment: str = "cloud") -> None:
    """Fill `pulled` from the cache's spaces, groups and group_members streams (and, on Data
    Center, space_permissions)."""
    rules: list[SpaceRule] = []
    dc_rules: dict[str, SpaceRule] | None = None
    if deployment == "datacenter":
        dc_rules = src.dc_space_rules(src.cached_records(cache, "space_permissions"))
        pulled.add_people(src.dc_space_people(src.cached_records(cache, "space_permissions")))
    for record in src.cached_records(cache, "spaces"):
        rule = src.to_space_rule(record) if dc_rules is None else dc_rules.get(str(record.get("key")))
        if rule is None:
            pulled.unresolved_spaces.append(str(record.get("key")))
        else:
            rules.append(rule)
        pulled.add_people(src.space_people(record))
    pulled.rules = rules
    names = {str(g.get("id")): str(g.get("name")) for g in src.cached_records(cache, "groups")}
    members: dict[str, set[str]] = {name: set() for name in names.values()}
    for member in src.cached_records(cache, "group_members"):
        group = names.get(str(member.get("group_id")))
        account_id, email, name = src.person(member)
        if group and account_id:
            members[group].add(account_id)
            pulled.add_people([(account_id, email, name)])
    pulled.members = members


def write_access(ledger: Ledger, pulled: PulledAccess, users: Mapping[str, str],
                 run_id: int | None = None) -> Recomputed:
    """Inside the pull's last transaction: the inputs as read, then every page's class; the
    classes are kept as they stand when run `run_id` changed nothing they depend on (no page
    written, no restriction, the same spaces with rules): a quiet poll's commonest case."""
    access = LedgerAccess(ledger)
    keys = access.space_keys()
    if pulled.rules is not None:
        access.replace_space_rules(pulled.rules)
    if pulled.members is not None:
        access.replace_members(pulled.members)
    access.upsert_principals([*pulled.people.values(), *((uid, "", name) for uid, name in users.items())])
    changed = access.set_restrictions(pulled.restrictions)
    standing = None if changed or access.space_keys() != keys else access.standing(run_id)
    return standing if standing is not None else access.recompute()


def report(result: Recomputed, pulled: PulledAccess) -> dict[str, Any]:
    """The run report's `access` entry."""
    return {"classes": result.classes, "pages_reclassified": result.changed,
            "unresolved": len(result.unresolved),
            "unresolved_pages": [{"page_id": pid, "why": why} for pid, why in result.unresolved[:50]],
            "spaces_without_permissions": sorted(pulled.unresolved_spaces),
            "groups": len(pulled.members or {}), "spaces": len(pulled.rules or []),
            "groups_unreadable": len(pulled.unreadable_groups)}
