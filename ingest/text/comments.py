"""Comments as blocks of their page: one "comment" block each, under the heading path ("Comments",).

A comment's block carries its complete anchor (`comment-ID`, the id Cloud's rendered page gives it),
and the chunker keeps every comment a section of its own (never merged with a neighbour), so a new
comment adds one chunk and leaves the texts, and so the vectors, of the others as they were.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ingest.records import Block, Comment

__all__ = ["HEADING", "comment_blocks", "comments_digest"]

HEADING = "Comments"


def comment_blocks(comments: Iterable[Comment], users: Mapping[str, str],
                   cleaner: Callable[..., Sequence[Block] | None]) -> list[Block]:
    """The page's comments as blocks, in the order given (oldest first)."""
    out = []
    for c in comments:
        body = " ".join(b.text for b in (cleaner(c.body_html, users=users) or ()))
        who = users.get(c.author) or "someone"
        if c.location == "inline":
            lead = f"Inline comment by {who}" + (f" on “{c.selection}”" if c.selection else "")
        else:
            lead = f"Comment by {who}"
        if body.strip():
            out.append(Block("comment", f"{lead}: {body}", (HEADING,), anchor=c.anchor))
    return out


def comments_digest(comments: Sequence[Comment]) -> list[Any]:
    """What of the comments goes into the page's fingerprint (a new or edited comment redoes it)."""
    return [[c.id, c.version, c.location, c.selection, c.author, len(c.body_html), hash_of(c.body_html)]
            for c in comments]


def hash_of(text: str) -> str:
    from ingest.records import sha256

    return sha256(text)[:16]
