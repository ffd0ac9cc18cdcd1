"""Who may view what in the emulator: Confluence's view rule, and the changes that move it.

A person can view a page iff
- they may view its space: a user listed in its read/space permission, a member of a listed group,
  or anyone at all (signed in or not) when the space has anonymous access on;
- they satisfy the page's own read restriction, if it has one;
- they satisfy the read restriction of every restricted ancestor.

A restriction is satisfied by being one of its users or a member of one of its groups. Anonymous
callers (account None) satisfy no restriction. `can_view` is the oracle the tests compare the
knowledge base against: `from emulator.access import can_view`.

Defaults keep corpora without access data as they were: a space without explicit permissions lets
every group of the site read it (and the space creator, the site's first user), not anonymous;
confluence-users has every user as a member unless its members are set; any other group without
explicit members has none. Changing restrictions, space permissions or members bumps neither a
page's version nor its lastmodified (as in Cloud), only `store.generation`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from emulator.store import Item, NotFound, Space, SpacePerm, Store

__all__ = ["Decision", "add_member", "can_view", "can_view_space", "decide", "effective_perm",
           "groups_of", "remove_member", "set_members", "set_restrictions", "set_space_perm"]


def effective_perm(store: Store, space: Space) -> SpacePerm:
    """The space's read/space permission: its explicit one, or the default (every group, the creator)."""
    if space.perm is not None:
        return space.perm
    return SpacePerm(users=(store.default_author,), groups=tuple(store.groups), anonymous=False)


def groups_of(store: Store, account_id: str | None) -> set[str]:
    """The groups an account is a member of (none for anonymous)."""
    if account_id is None:
        return set()
    return {g for g in store.groups if account_id in store.members_of(g)}


def _satisfies(account_id: str | None, memberships: set[str], users: Iterable[str],
               groups: Iterable[str]) -> bool:
    if account_id is None:
        return False
    return account_id in set(users) or bool(memberships & set(groups))


def can_view_space(store: Store, account_id: str | None, key: str) -> bool:
    space = store.spaces.get(key)
    if space is None:
        return False
    perm = effective_perm(store, space)
    if perm.anonymous:
        return True
    return _satisfies(account_id, groups_of(store, account_id), perm.users, perm.groups)


@dataclass
class Decision:
    """Why an account may or may not view an item: the space rule, then each restriction on the chain."""

    allowed: bool
    space: bool
    chain: list[tuple[str, bool]] = field(default_factory=list)  # (restricted item id, satisfied), root first


def decide(store: Store, account_id: str | None, item: Item | str) -> Decision:
    """The view rule with its reasons; `item` is an Item or a content id (unknown: NotFound)."""
    if not isinstance(item, Item):
        item = store.get(item)
    memberships = groups_of(store, account_id)
    space_ok = can_view_space(store, account_id, item.space)
    chain = [(node.id, _satisfies(account_id, memberships, node.read_users, node.read_groups))
             for node in [*store.ancestors(item), item] if node.read_users or node.read_groups]
    return Decision(space_ok and all(ok for _, ok in chain), space_ok, chain)


def can_view(store: Store, account_id: str | None, item: Item | str) -> bool:
    """Confluence's view rule for one account (None = anonymous) and one page or blog post."""
    return decide(store, account_id, item).allowed


# ---- changes (the admin API calls these) -----------------------------------------------------

def _known_users(store: Store, accounts: Iterable[str], what: str) -> list[str]:
    out = [str(a) for a in accounts]
    unknown = [a for a in out if a not in store.users]
    if unknown:
        raise ValueError(f"{what}: no user {', '.join(unknown)}; add it with POST /__admin/users first")
    return out


def set_restrictions(store: Store, content_id: str, users: Iterable[str], groups: Iterable[str]) -> Item:
    """Replace a page's own read restriction (both empty: unrestricted)."""
    with store.lock:
        item = store.get(content_id)
        item.read_users = tuple(dict.fromkeys(str(u) for u in users))
        item.read_groups = tuple(dict.fromkeys(str(g) for g in groups))
        for group in item.read_groups:
            store.know_group(group)
        store.generation += 1
        space = store.spaces.get(item.space)
        # Cloud's audit log lists restriction changes (category Permissions) by title, with the
        # space as the associated object: the one signal of a change that bumps no version.
        store.audit.append(store.audit_record(
            "Content restrictions changed", "Permissions", item.title,
            "Blog" if item.type == "blogpost" else "Page",
            [{"name": space.name if space else item.space, "objectType": "Space"}]))
        return item


def set_space_perm(store: Store, key: str, perm: SpacePerm) -> Space:
    with store.lock:
        space = store.spaces.get(key)
        if space is None:
            raise NotFound(key)
        _known_users(store, perm.users, f"space {key} permissions")
        space.perm = perm
        for group in perm.groups:
            store.know_group(group)
        store.generation += 1
        return space


def set_members(store: Store, group: str, members: Iterable[str]) -> list[str]:
    """Set a group's members (the group is created if new); returns them."""
    with store.lock:
        wanted = list(dict.fromkeys(_known_users(store, members, f"group {group} members")))
        store.know_group(group)
        store.members[group] = wanted
        store.generation += 1
        return list(wanted)


def add_member(store: Store, group: str, account_id: str) -> list[str]:
    with store.lock:
        current = store.members_of(group)
        if account_id in current:
            return current
        return set_members(store, group, [*current, account_id])


def remove_member(store: Store, group: str, account_id: str) -> list[str]:
    with store.lock:
        if group not in store.groups:
            raise NotFound(group)
        return set_members(store, group, [m for m in store.members_of(group) if m != account_id])
