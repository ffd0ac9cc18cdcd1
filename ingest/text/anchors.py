"""Heading anchors built the way Confluence Cloud builds heading ids, and the links that use them.

Cloud's rendered page gives every heading the id `<page title>-<heading text>`, both with their
white space removed and nothing else changed (punctuation and emoji kept), e.g. a real Cloud record
(shared/data/confluence/rest_api/v1/airbyte_cloud_expected_records.jsonl, page "Overview") has
`<h2 id="Overview-📄RecentpagesthatI've workedon">` for the heading "📄 Recent pages that I've worked on".
A heading text seen before on the page gets `.1`, `.2`, ... (Confluence 4.3 onwards; 4.2 repeated the
id). The emulator's rendered view (emulator/render.py) carries the same ids; a link to a heading is
`page-url#` + the id, percent-encoded.
"""

from __future__ import annotations

import re
from urllib.parse import quote

__all__ = ["HeadingIds", "chunk_anchor", "heading_id", "link", "squeeze"]

_SPACE = re.compile(r"\s+")


def squeeze(text: str) -> str:
    """The text with all white space removed (Cloud's rule for both parts of a heading id)."""
    return _SPACE.sub("", text)


def heading_id(title: str, heading: str, seen: int = 0) -> str:
    """The id Cloud gives a heading: `Title-Heading`, `.n` for the n-th repeat of the same id."""
    base = f"{squeeze(title)}-{squeeze(heading)}"
    return f"{base}.{seen}" if seen else base


def chunk_anchor(title: str, block_kind: str, block_anchor: str) -> str:
    """A chunk's anchor from its first block's: a heading's key completed with the page title (as
    Cloud renders it); a comment block's anchor is already complete ("comment-123")."""
    if not block_anchor or block_kind == "comment":
        return block_anchor
    return f"{squeeze(title)}-{block_anchor}"


class HeadingIds:
    """Numbers repeated headings in document order: `next("Setup")` gives the suffix part of the id
    (`Setup`, then `Setup.1`, ...) without the title, which the chunker adds (`heading_id`)."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def next(self, heading: str) -> str:
        key = squeeze(heading)
        n = self._counts.get(key, 0)
        self._counts[key] = n + 1
        return f"{key}.{n}" if n else key


def link(url: str, anchor: str) -> str:
    """`url#anchor`, the anchor percent-encoded (letters, digits and `-._~` stay as they are)."""
    if not anchor or not url:
        return url
    return f"{url.split('#', 1)[0]}#{quote(anchor, safe='-._~')}"
