"""The emulator's content: the corpus format (JSON Lines), the bundled sample space, and a generator.

A corpus item is one JSON object a line:
`{"id", "type": "page"|"blogpost", "space", "title", "parent_id"?, "body" (storage XHTML), "labels"?,
"author"?, "created"?, "updated"?, "version"?, "restrictions"?: {"users": [...], "groups": [...]}}`.
Spaces files hold `{"key", "name", "type": "global", "description"?, "permissions"?: {"users": [ids],
"groups": [names], "anonymous": bool}}` lines (no permissions: every group may read, not anonymous),
users files `{"accountId", "displayName", "email"}` lines, groups files `{"name", "members": [ids]}`
lines (a group without a line: confluence-users has every user, any other group nobody), QA files
`{"question", "answers"?, "gold": [ids], "as"?: email, "visible"?: bool}` lines ("as": ask as that
user; "visible": false: the gold pages must NOT be found for that user).
A corpus file's spaces.jsonl and groups.jsonl are read from beside it.

`generate()` streams a deterministic synthetic site of any size (a page tree per space, bodies of
varied length, ~5 KB on average) without holding it in memory; `generated_spaces()` gives its spaces.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from emulator.gentext import COMPONENTS, LABELS, QUALIFIERS, TEAMS, TECHS, TOPICS, BodyWriter

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
SAMPLE_CORPUS = SAMPLE_DIR / "corpus.jsonl"
SAMPLE_SPACES = SAMPLE_DIR / "spaces.jsonl"
SAMPLE_USERS = SAMPLE_DIR / "users.jsonl"
SAMPLE_GROUPS = SAMPLE_DIR / "groups.jsonl"
SAMPLE_QA = SAMPLE_DIR / "qa.jsonl"
# The sample beyond page bodies: attachments, comments, macro pages (tools/sample_space/extras.py);
# served with the sample by `sample_with_extras()` / `kb emulator --extras`; its questions apart.
SAMPLE_EXTRAS = SAMPLE_DIR / "extras.jsonl"
SAMPLE_QA_EXTRAS = SAMPLE_DIR / "qa_extras.jsonl"


def sample_with_extras() -> list[dict[str, Any]]:
    """The sample corpus followed by its extras (pages before the comments and attachments on them)."""
    return [*read_corpus(SAMPLE_CORPUS), *read_corpus(SAMPLE_EXTRAS)]

GENERATED_ID_BASE = 10_000_000  # generated ids never collide with the sample's (5 digits)
_EPOCH = datetime(2019, 1, 7, 9, 0, tzinfo=UTC)
_SPAN_DAYS = 6 * 365  # created/updated timestamps spread over 2019..2025
_SPACE_KEYS = (("ENG", "Engineering"), ("OPS", "Operations"), ("DATA", "Data Platform"), ("SEC", "Security"),
               ("PROD", "Product"), ("SUP", "Customer Support"), ("MOB", "Mobile"),
               ("FIN", "Finance Systems"))
_FALLBACK_USERS = ("5f0c8e2a1b3d4c0069a1e001",)


# --- reading -------------------------------------------------------------------------------------

def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Stream the JSON objects of a JSON Lines file (blank lines skipped; errors name the line)."""
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not a JSON object ({exc.msg})") from exc


def write_jsonl(items: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write items as JSON Lines (UTF-8, one object a line); returns how many were written."""
    count = 0
    with open(path, "w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
            count += 1
    return count


def read_corpus(path: str | Path = SAMPLE_CORPUS) -> Iterator[dict[str, Any]]:
    """Stream the content items of a corpus file."""
    return read_jsonl(path)


def read_spaces(path: str | Path = SAMPLE_SPACES) -> list[dict[str, Any]]:
    """The spaces of a spaces file."""
    return list(read_jsonl(path))


def read_users(path: str | Path = SAMPLE_USERS) -> list[dict[str, Any]]:
    """The users of a users file."""
    return list(read_jsonl(path))


def read_groups(path: str | Path = SAMPLE_GROUPS) -> list[dict[str, Any]]:
    """The groups of a groups file: `{"name", "members": [account ids]}` each."""
    groups = list(read_jsonl(path))
    for number, group in enumerate(groups, 1):
        if not isinstance(group.get("name"), str) or not isinstance(group.get("members", []), list):
            raise ValueError(f"{path}: group {number} needs a \"name\" and a \"members\" list")
    return groups


def users_by_id(path: str | Path = SAMPLE_USERS) -> dict[str, str]:
    """accountId -> displayName for a users file."""
    return {u["accountId"]: u["displayName"] for u in read_users(path)}


def spaces_from_items(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Spaces derived from a corpus's items (for a corpus without a spaces file)."""
    keys = dict.fromkeys(item["space"] for item in items)
    return [{"key": key, "name": key, "type": "global"} for key in keys]


# --- generating ----------------------------------------------------------------------------------

def generated_spaces(spaces: int = 3) -> list[dict[str, Any]]:
    """The spaces that `generate(..., spaces=n)` puts its items in."""
    out = []
    for i in range(max(1, spaces)):
        key, name = _SPACE_KEYS[i % len(_SPACE_KEYS)]
        if i >= len(_SPACE_KEYS):
            key, name = f"{key}{i // len(_SPACE_KEYS) + 1}", f"{name} {i // len(_SPACE_KEYS) + 1}"
        out.append({"key": key, "name": name, "type": "global",
                    "description": f"Generated {name} space for benchmarks."})
    return out


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _title_parts(index: int, kinds: tuple[str, ...]) -> tuple[str, str, str, int]:
    """A bijection from index to (qualifier, component, kind, round): titles never repeat in a space."""
    n = len(QUALIFIERS) * len(COMPONENTS) * len(kinds)
    mixed = (index * 7919 + 17) % n  # 7919 is prime and divides no n here, so this permutes 0..n-1
    q, rest = divmod(mixed, len(COMPONENTS) * len(kinds))
    c, k = divmod(rest, len(kinds))
    return QUALIFIERS[q], COMPONENTS[c], kinds[k], index // n


def _page_title(index: int) -> str:
    if index == 0:
        return ""
    qualifier, component, kind, rnd = _title_parts(index - 1, TOPICS)
    title = f"{qualifier} {component} {kind}"
    return title if rnd == 0 else f"{title} ({rnd + 1})"


_BLOG_KINDS = ("weekly update", "incident recap", "release announcement", "migration retrospective",
               "performance deep dive", "team news", "lessons learned")


def _blog_title(index: int) -> str:
    qualifier, component, kind, rnd = _title_parts(index, _BLOG_KINDS)
    title = f"{kind.capitalize()}: {qualifier} {component}"
    return title if rnd == 0 else f"{title} ({rnd + 1})"


def _body_target(rng: random.Random) -> int:
    """Body length in bytes: log-normal (median ~3.6 KB, mean ~5 KB, a tail past 20 KB), some short."""
    if rng.random() < 0.05:
        return rng.randint(120, 500)
    return int(min(60_000, rng.lognormvariate(math.log(3600), 0.8)))


def _timestamps(rng: random.Random, position: float) -> tuple[datetime, datetime, int]:
    """created grows with the position in the space (parents before children), updated after it."""
    created = _EPOCH + timedelta(days=position * _SPAN_DAYS * 0.8, minutes=rng.randint(0, 24 * 60))
    edits = min(12, int(rng.expovariate(0.5)))
    limit = _EPOCH + timedelta(days=_SPAN_DAYS)
    updated = created if edits == 0 else min(limit, created + timedelta(days=rng.expovariate(1 / 120),
                                                                       minutes=rng.randint(1, 600)))
    return created, updated, edits + 1


def _item(rng: random.Random, *, item_id: str, kind: str, space: dict[str, Any], title: str,
          position: float, users: tuple[str, ...], links: tuple[str, ...]) -> dict[str, Any]:
    component = next((c for c in COMPONENTS if c in title.lower()), rng.choice(COMPONENTS))
    writer = BodyWriter(rng, component, rng.choice(TECHS), users, links)
    created, updated, version = _timestamps(rng, position)
    item: dict[str, Any] = {
        "id": item_id, "type": kind, "space": space["key"], "title": title,
        "body": writer.body(_body_target(rng)),
        "labels": sorted(set(rng.sample(LABELS, rng.randint(0, 4)))),
        "author": rng.choice(users), "created": _iso(created), "updated": _iso(updated), "version": version,
    }
    if rng.random() < 0.02:
        item["restrictions"] = {"users": [rng.choice(users)], "groups": [f"{rng.choice(TEAMS).lower()}-team"]}
    return item


def _generated_users() -> tuple[str, ...]:
    try:
        return tuple(u["accountId"] for u in read_users(SAMPLE_USERS)) or _FALLBACK_USERS
    except FileNotFoundError:
        return _FALLBACK_USERS


def _space_pages(space: dict[str, Any], count: int, first_id: int, seed: int,
                 users: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    for index in range(count):
        rng = random.Random(f"{seed}/{space['key']}/page/{index}")
        title = f"{space['name']} Home" if index == 0 else _page_title(index)
        earlier = tuple(_page_title(rng.randrange(1, index)) for _ in range(3)) if index > 2 else ()
        item = _item(rng, item_id=str(first_id + index), kind="page", space=space, title=title,
                     position=index / max(1, count), users=users, links=earlier)
        if index > 0:  # a random recursive tree: depth grows like log(n), the home page is the root
            parent = 0 if rng.random() < 0.08 else int(index * rng.random() ** 2)
            item["parent_id"] = str(first_id + parent)
        yield item


def _space_blogposts(space: dict[str, Any], count: int, first_id: int, seed: int,
                     users: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    for index in range(count):
        rng = random.Random(f"{seed}/{space['key']}/blogpost/{index}")
        yield _item(rng, item_id=str(first_id + index), kind="blogpost", space=space,
                    title=_blog_title(index), position=index / max(1, count), users=users, links=())


def generate(pages: int, blogposts: int = 0, seed: int = 0, spaces: int = 3) -> Iterator[dict[str, Any]]:
    """Stream a deterministic synthetic corpus: `pages` pages and `blogposts` blog posts over `spaces` spaces.

    Each space's pages form one tree under its home page; a parent always comes before its children.
    Items are built one at a time from per-item seeds, so memory stays flat for any size.
    """
    space_list = generated_spaces(spaces)
    users = _generated_users()
    next_id = GENERATED_ID_BASE
    page_counts, blog_counts = _split(pages, len(space_list)), _split(blogposts, len(space_list))
    for space, n_pages, n_blogs in zip(space_list, page_counts, blog_counts, strict=False):
        yield from _space_pages(space, n_pages, next_id, seed, users)
        next_id += n_pages
        yield from _space_blogposts(space, n_blogs, next_id, seed, users)
        next_id += n_blogs
