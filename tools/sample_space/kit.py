"""Markup builders for writing the bundled sample space (the Corvid handbook) in storage format.

The sample's source lives in `tools/sample_space/pages*.py` and `tools/sample_space/posts.py`;
`python -m tools.sample_space.build` turns it into the committed `emulator/sample/*.jsonl` files.
Text given to these helpers is plain text unless the parameter is named `html`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

USERS = {
    "mira": "5f0c8e2a1b3d4c0069a1e001",    # Mira Okafor, gateway team lead
    "tomasz": "5f0c8e2a1b3d4c0069a1e002",  # Tomasz Wierzbicki, release manager
    "priya": "5f0c8e2a1b3d4c0069a1e003",   # Priya Raghunathan, API owner
    "lars": "5f0c8e2a1b3d4c0069a1e004",    # Lars Henningsen, storage / WAL
    "ana": "5f0c8e2a1b3d4c0069a1e005",     # Ana Beatriz Costa, docs and support
    "kenji": "5f0c8e2a1b3d4c0069a1e006",   # Kenji Watanabe, router and sinks
    "fatima": "5f0c8e2a1b3d4c0069a1e007",  # Fatima Zahra El Idrissi, security
    "owen": "5f0c8e2a1b3d4c0069a1e008",    # Owen Gallagher, SRE
    "helga": "5f0c8e2a1b3d4c0069a1e009",   # Helga Lindqvist, People team (hr)
    "jonas": "5f0c8e2a1b3d4c0069a1e010",   # Jonas Brandt, payroll (hr)
    "sam": "5f0c8e2a1b3d4c0069a1e011",     # Sam Adeyemi, contractor: confluence-users only
}


@dataclass(frozen=True)
class Doc:
    """One sample page or blog post before it becomes a corpus line."""

    id: str
    title: str
    body: str
    parent: str | None = None  # the parent's id
    labels: tuple[str, ...] = ()
    author: str = "mira"
    created: str = "2024-01-15T09:00:00.000Z"
    updated: str | None = None
    version: int = 1
    type: str = "page"
    space: str = "CORVID"
    restrictions: dict[str, Any] | None = field(default=None)

    def item(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type, "space": self.space, "title": self.title}
        if self.parent:
            out["parent_id"] = self.parent
        out.update(body=self.body, labels=list(self.labels), author=USERS[self.author], created=self.created,
                   updated=self.updated or self.created, version=self.version)
        if self.restrictions:
            out["restrictions"] = self.restrictions
        return out


def h(level: int, text: str) -> str:
    return f"<h{level}>{escape(text)}</h{level}>"


def p(html: str) -> str:
    """A paragraph of inline markup (already escaped where needed)."""
    return f"<p>{html}</p>"


def code(language: str, text: str, title: str | None = None) -> str:
    params = f'<ac:parameter ac:name="language">{language}</ac:parameter>'
    if title:
        params += f'<ac:parameter ac:name="title">{escape(title)}</ac:parameter>'
    return (f'<ac:structured-macro ac:name="code" ac:schema-version="1">{params}'
            f"<ac:plain-text-body>{cdata(text)}</ac:plain-text-body></ac:structured-macro>")


def noformat(text: str) -> str:
    return (f'<ac:structured-macro ac:name="noformat" ac:schema-version="1">'
            f"<ac:plain-text-body>{cdata(text)}</ac:plain-text-body></ac:structured-macro>")


def cdata(text: str) -> str:
    """A CDATA section; a literal "]]>" is split across two sections, as Confluence does."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def panel(kind: str, html: str, title: str | None = None) -> str:
    """An info / note / warning / tip panel around block markup."""
    param = f'<ac:parameter ac:name="title">{escape(title)}</ac:parameter>' if title else ""
    return (f'<ac:structured-macro ac:name="{kind}" ac:schema-version="1">{param}'
            f"<ac:rich-text-body>{html}</ac:rich-text-body></ac:structured-macro>")


def expand(title: str, html: str) -> str:
    return (f'<ac:structured-macro ac:name="expand" ac:schema-version="1"><ac:parameter ac:name="title">'
            f"{escape(title)}</ac:parameter><ac:rich-text-body>{html}</ac:rich-text-body>"
            "</ac:structured-macro>")


def status(colour: str, title: str) -> str:
    return (f'<ac:structured-macro ac:name="status" ac:schema-version="1"><ac:parameter ac:name="colour">'
            f'{colour}</ac:parameter><ac:parameter ac:name="title">{escape(title)}</ac:parameter>'
            "</ac:structured-macro>")


def toc() -> str:
    return ('<ac:structured-macro ac:name="toc" ac:schema-version="1"><ac:parameter ac:name="maxLevel">3'
            "</ac:parameter></ac:structured-macro>")


def children() -> str:
    return '<ac:structured-macro ac:name="children" ac:schema-version="2" />'


def link(title: str, text: str | None = None, space: str | None = None) -> str:
    """A page link (ac:link + ri:page), with optional link text."""
    space_attr = f" ri:space-key={quoteattr(space)}" if space else ""
    body = f"<ac:plain-text-link-body>{cdata(text)}</ac:plain-text-link-body>" if text else ""
    return f"<ac:link><ri:page{space_attr} ri:content-title={quoteattr(title)} />{body}</ac:link>"


def user(key: str) -> str:
    """A user mention (ac:link + ri:user)."""
    return f'<ac:link><ri:user ri:account-id="{USERS[key]}" /></ac:link>'


def table(header: list[str], rows: list[list[str]]) -> str:
    """A table with a header row; cells are inline markup."""
    head = "".join(f"<th><p>{escape(cell)}</p></th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td><p>{cell}</p></td>" for cell in row) + "</tr>" for row in rows)
    return f'<table data-layout="default"><tbody><tr>{head}</tr>{body}</tbody></table>'


def ul(items: list[str], ordered: bool = False) -> str:
    tag = "ol" if ordered else "ul"
    return f"<{tag}>" + "".join(f"<li>{item}</li>" for item in items) + f"</{tag}>"


def tasks(items: list[tuple[str, bool]], first_id: int = 1) -> str:
    """A task list: (inline markup, done) pairs."""
    out = []
    for number, (html, done) in enumerate(items, first_id):
        state = "complete" if done else "incomplete"
        out.append(f"<ac:task><ac:task-id>{number}</ac:task-id><ac:task-status>{state}</ac:task-status>"
                   f"<ac:task-body>{html}</ac:task-body></ac:task>")
    return "<ac:task-list>" + "".join(out) + "</ac:task-list>"


def layout(*sections: tuple[str, list[str]]) -> str:
    """Layout sections, each (type, [cell markup, ...]), e.g. ("two_equal", [left, right])."""
    out = []
    for kind, cells in sections:
        inner = "".join(f"<ac:layout-cell>{cell}</ac:layout-cell>" for cell in cells)
        out.append(f'<ac:layout-section ac:type="{kind}">{inner}</ac:layout-section>')
    return "<ac:layout>" + "".join(out) + "</ac:layout>"


def image(filename: str, alt: str, caption: str) -> str:
    return (f'<ac:image ac:align="center" ac:layout="center" ac:alt={quoteattr(alt)}>'
            f"<ri:attachment ri:filename={quoteattr(filename)} />"
            f"<ac:caption><p>{escape(caption)}</p></ac:caption>"
            "</ac:image>")


def comment(ref: str, html: str) -> str:
    """An inline-comment marker around inline markup."""
    return f'<ac:inline-comment-marker ac:ref="{ref}">{html}</ac:inline-comment-marker>'


def c(text: str) -> str:
    """Inline code."""
    return f"<code>{escape(text)}</code>"


def e(text: str) -> str:
    """Escape plain text for inline use."""
    return escape(text)
