"""Records passed between stages: frozen dataclasses, ids and hashes.

Airbyte's dicts stay inside `ingest/pull/_airbyte/`; Chroma's columns stay inside
`ingest/storage/vectors.py`.
Everything in between speaks these types.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["page", "blogpost", "attachment"]  # an attachment: its own document, under its page


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Ancestor:
    id: str
    title: str


@dataclass(frozen=True)
class Page:
    """One Confluence page or blog post, as pulled."""

    id: str
    kind: Kind
    space_key: str
    title: str
    url: str
    version: int
    updated_at: str
    body_html: str = ""
    space_name: str = ""
    created_at: str = ""
    author: str = ""
    status: str = "current"
    labels: tuple[str, ...] = ()
    ancestors: tuple[Ancestor, ...] = ()
    read_users: tuple[str, ...] = ()
    read_groups: tuple[str, ...] = ()
    acl: str = ""  # the access class (ingest.access), computed by the ledger after each pull

    @property
    def ancestor_titles(self) -> tuple[str, ...]:
        return tuple(a.title for a in self.ancestors)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Comment:
    """A footer or inline comment on a page, as pulled; indexed as a section of its page."""

    id: str
    page_id: str
    version: int
    updated_at: str
    body_html: str
    author: str = ""          # account id
    location: str = "footer"  # footer | inline
    selection: str = ""       # an inline comment's annotated text

    @property
    def anchor(self) -> str:
        """The id of the comment in Cloud's rendered page (`#comment-ID`)."""
        return f"comment-{self.id}"


@dataclass(frozen=True)
class AttachmentRef:
    """An attachment as listed (not yet downloaded): its version gates the download."""

    id: str
    page_id: str
    filename: str
    media_type: str
    size: int
    version: int
    updated_at: str
    download_url: str  # absolute


@dataclass(frozen=True)
class Block:
    """A piece of cleaned text under a heading path (a paragraph, list, table rows, code, panel)."""

    kind: str
    text: str
    heading_path: tuple[str, ...] = ()
    # For tables: the header line, repeated at the top of every chunk that holds rows of this table.
    table_header: str = ""
    # Where a link to this block opens: the heading's id without the page title ("Setup", "Setup.1"),
    # which the chunker completes (ingest/text/anchors.py); a "comment" block's anchor is complete.
    anchor: str = ""


@dataclass(frozen=True)
class Chunk:
    """An embeddable piece of a page. `text_hash` is sha256 of `embed_text`, exactly what is embedded:
    `embed_title` (the page title) and the text. The `header` breadcrumb (space › ancestors › title ›
    headings) is for display and the lexical index, not embedded: on the sample space and the SQuAD
    tuning half the title alone gave the better dense recall (README, "Evaluating")."""

    id: str
    page_id: str
    index: int
    header: str
    heading_path: tuple[str, ...]
    text: str
    text_hash: str
    tokens: int = 0
    anchor: str = ""  # the id in the rendered page where this chunk's text starts ("" = the top)
    embed_title: str = ""  # embedded before the text; not stored (the hash is)

    @property
    def embed_text(self) -> str:
        return embed_text(self.embed_title, self.text)


def embed_text(title: str, text: str) -> str:
    """What is embedded for a chunk: the page title, a line break, the text."""
    return f"{title}\n{text}" if title else text


def chunk_id(page_id: str, index: int) -> str:
    return f"{page_id}:{index}"


def page_of(chunk_id: str) -> str:
    """The page id a chunk id names (the inverse of `chunk_id`)."""
    return chunk_id.rsplit(":", 1)[0]


def make_chunk(page_id: str, index: int, header: str, heading_path: tuple[str, ...], text: str,
               tokens: int = 0, anchor: str = "", embed_title: str = "") -> Chunk:
    return Chunk(chunk_id(page_id, index), page_id, index, header, heading_path, text,
                 sha256(embed_text(embed_title, text)), tokens, anchor, embed_title)


@dataclass(frozen=True)
class WorkItem:
    """One change a pull applies (or, with --dry-run, would apply) to a page of the ledger.
    `str()` is the work-list line `kb pull --dry-run` prints."""

    action: str  # new | changed | moved | restored | trashed | deleted | purged
    page_id: str
    kind: str = ""
    version: int | None = None
    space_key: str | None = None
    title: str | None = None
    note: str = ""  # how it happened, when the action alone does not say: "(place only)"

    def __str__(self) -> str:
        parts = [self.action] + ([self.kind] if self.kind else []) + [self.page_id]
        if self.version is not None:
            parts.append(f"v{self.version}")
        if self.space_key is not None:
            parts.append(self.space_key)
        if self.note:
            parts.append(self.note)
        if self.title is not None:
            parts.append(repr(self.title))
        return " ".join(parts)


@dataclass(frozen=True)
class PullReport:
    """What one `kb pull` did. `to_dict()` gives exactly the `--json` keys."""

    seen: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    moved: int = 0
    deleted: int = 0
    restored: int = 0
    requests: int = 0
    bytes: int = 0
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default=(), compare=False)
    work: tuple[WorkItem, ...] = field(default=(), compare=False)  # a dry run's work list
    access: dict[str, Any] = field(default_factory=dict, compare=False)  # ingest.pull.access.report
    swept: dict[str, str] = field(default_factory=dict, compare=False)  # space -> why (ingest.pull.gate)

    @property
    def pages_per_s(self) -> float:
        return self.seen / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "seen": self.seen, "new": self.new, "changed": self.changed, "unchanged": self.unchanged,
            "moved": self.moved, "deleted": self.deleted, "restored": self.restored,
            "requests": self.requests, "bytes": self.bytes, "seconds": round(self.seconds, 3),
            "pages/s": round(self.pages_per_s, 1), "access": dict(self.access), "swept": dict(self.swept),
        }
