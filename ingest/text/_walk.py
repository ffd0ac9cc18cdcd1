"""The walk over a parsed storage-format tree (lxml elements) that `ingest.text.clean` runs.

`_Walker` emits `Block`s in document order; headings h1–h6 set the heading path. Inline text is
gathered with an explicit stack (any depth); block structure deeper than MAX_BLOCK_DEPTH is read as
inline text, so Python's recursion limit is never reached. Names are compared by local name
("structured-macro" for `ac:structured-macro`), whatever the prefix or namespace the parser kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ingest.records import Block
from ingest.text._xml import (
    NL,
    _attr,
    _child,
    _fence,
    _int,
    _name,
    _param,
    _raw,
    _row_line,
    _rows,
    _span,
    _tidy,
)
from ingest.text.anchors import HeadingIds

MAX_BLOCK_DEPTH = 120      # deeper block structure is flattened into one paragraph
MAX_INLINE_DEPTH = 40      # links in macros in links ...: deeper is read as plain text

HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
LISTS = {"ul", "ol", "task-list"}
CONTAINERS = {"div", "section", "article", "main", "header", "footer", "aside", "nav", "center", "figure",
              "body", "html", "kb-root", "layout", "layout-section", "layout-cell", "rich-text-body",
              "adf-content", "adf-node", "details", "form", "fieldset", "address", "dl", "thead", "tbody",
              "tfoot", "tr", "noscript"}
PARAGRAPHS = {"p", "dt", "dd", "li", "td", "th", "caption", "summary", "figcaption", "task"}
DROPPED = {"parameter", "default-parameter", "placeholder", "script", "style", "head", "adf-fallback",
           "adf-attribute", "task-id", "task-uuid", "task-status", "colgroup", "col", "template"}
LABELS = {"info": "Info", "note": "Note", "warning": "Warning", "tip": "Tip", "panel": "Panel",
          "expand": "Expand", "excerpt": "Excerpt", "success": "Success", "error": "Error",
          "custom": "Panel"}
NO_TEXT_MACROS = {"toc", "children", "recently-updated", "pagetree", "pagetreesearch", "livesearch",
                  "contentbylabel", "content-by-label", "blog-posts", "attachments", "gallery", "anchor",
                  "profile-picture", "space-details", "listlabels", "popular-labels", "related-labels",
                  "create-from-template", "include", "excerpt-include", "index", "roadmap",
                  "contributors", "page-index", "view-file", "viewfile", "tasks-report-macro"}
INLINE_SEP = {"p": NL, "div": NL, "li": NL, "tr": NL, "dt": NL, "dd": NL, "pre": NL, "blockquote": NL,
              "h1": NL, "h2": NL, "h3": NL, "h4": NL, "h5": NL, "h6": NL, "table": NL, "ul": NL, "ol": NL,
              "td": " ", "th": " ", "layout-cell": NL, "task": NL}


class _Walker:
    """Walks the tree in document order and emits blocks; headings h1–h6 set the path."""

    def __init__(self, users: Mapping[str, str]) -> None:
        self.users = users
        self.blocks: list[Block] = []
        self.headings: list[tuple[int, str]] = []
        self.path: tuple[str, ...] = ()
        self.heading_id = ""           # the current heading's id (without the page title)
        self.ids = HeadingIds()
        self.pending: list[str] = []   # loose inline text waiting for a block boundary
        self.depth = 0                 # nesting of inline() calls made by special elements

    def run(self, root: Any) -> None:
        self.node(root, 0)
        self.flush()

    # ------------------------------------------------------------------ block context
    def container(self, el: Any, depth: int) -> None:
        if el.text:
            self.pending.append(el.text)
        for child in el:
            self.node(child, depth + 1)
            if child.tail:
                self.pending.append(child.tail)

    def node(self, el: Any, depth: int) -> None:
        name = _name(el)
        if not name or name in DROPPED:
            return
        if depth > MAX_BLOCK_DEPTH:
            self.pending.append(NL + self.inline(el) + NL)
        elif name in HEADINGS:
            self.heading(el, HEADINGS[name])
        elif name in PARAGRAPHS:
            self.flush()
            self.emit("text", self.inline(el))
        elif name in LISTS:
            self.flush()
            self.emit("list", self.list_text(el))
        elif name == "table":
            self.flush()
            self.table(el)
        elif name in CONTAINERS:
            self.flush()
            self.container(el, depth)
            self.flush()
        elif name in ("structured-macro", "macro"):
            self.macro(el, depth)
        elif name == "adf-extension":
            self.adf(el, depth)
        elif name == "pre":
            self.flush()
            self.emit("code", _fence(_raw(el)))
        elif name == "blockquote":
            self.flush()
            self.emit("quote", self.inline(el))
        elif name == "hr":
            self.flush()
        else:
            self.pending.append(self.inline(el))

    def flush(self) -> None:
        if self.pending:
            text, self.pending = "".join(self.pending), []
            self.emit("text", text)

    def emit(self, kind: str, text: str, table_header: str = "") -> None:
        text = text.strip("\n") if kind in ("code", "list", "table") else _tidy(text)
        if text:
            self.blocks.append(Block(kind, text, self.path, table_header, self.heading_id))

    def heading(self, el: Any, level: int) -> None:
        self.flush()
        text = _tidy(self.inline(el)).replace("\n", " ")[:300]
        while self.headings and self.headings[-1][0] >= level:
            self.headings.pop()
        if text:
            self.headings.append((level, text))
            self.heading_id = self.ids.next(text)
        self.path = tuple(t for _, t in self.headings)

    def macro(self, el: Any, depth: int) -> None:
        name = _attr(el, "name").lower()
        if name in NO_TEXT_MACROS:
            return
        rich, plain = _child(el, "rich-text-body"), _child(el, "plain-text-body")
        if name in ("code", "noformat"):
            self.flush()
            lang = (_param(el, "language") or _param(el, "")) if name == "code" else ""
            self.emit("code", _fence(_raw(plain if plain is not None else rich), lang))
        elif name in LABELS:
            self.labelled(rich, LABELS[name], _param(el, "title"), depth)
        elif rich is not None:
            self.flush()
            self.container(rich, depth)
            self.flush()
        elif plain is not None:
            self.flush()
            self.emit("code", _fence(_raw(plain), _param(el, "language")))
        else:
            self.pending.append(self.macro_inline(el))

    def labelled(self, body: Any, label: str, title: str, depth: int) -> None:
        """A panel's body as one "panel" block, "Warning: ..." (or "Expand — Title: ..."); a body
        with a table, code or a heading keeps its blocks, the label on the first."""
        self.flush()
        start = len(self.blocks)
        if body is not None:
            self.container(body, depth)
            self.flush()
        inner = self.blocks[start:]
        if not inner:
            return
        head = f"{label} — {title}" if title and title.lower() != label.lower() else label
        first = inner[0]
        if all(b.kind in ("text", "list", "quote", "panel") and b.heading_path == first.heading_path
               and b.anchor == first.anchor for b in inner):
            self.blocks[start:] = [Block("panel", f"{head}: " + "\n".join(b.text for b in inner),
                                         first.heading_path, anchor=first.anchor)]
        elif first.kind in ("text", "list", "quote", "panel"):
            self.blocks[start] = dataclasses.replace(first, text=f"{head}: {first.text}")
        else:
            self.blocks.insert(start, Block("panel", f"{head}:", first.heading_path, anchor=first.anchor))

    def adf(self, el: Any, depth: int) -> None:
        node = _child(el, "adf-node")
        content = _child(node, "adf-content") if node is not None else None
        if content is None:
            fallback = _child(el, "adf-fallback")
            if fallback is not None:
                self.flush()
                self.container(fallback, depth)
                self.flush()
            return
        if _attr(node, "type").lower() == "panel":
            kind = next((_raw(a).strip().lower() for a in node if _name(a) == "adf-attribute"
                         and _attr(a, "key") == "panel-type"), "panel")
            self.labelled(content, LABELS.get(kind, "Panel"), "", depth)
        else:
            self.flush()
            self.container(content, depth)
            self.flush()

    # ------------------------------------------------------------------ tables and lists
    def table(self, el: Any) -> None:
        caption = _child(el, "caption")
        if caption is not None:
            self.emit("text", self.inline(caption))
        header: list[str] = []
        lines: list[str] = []
        for row in _rows(el):
            cells = [(_tidy(self.inline(c)).replace("\n", " "), _name(c) == "th", _span(c))
                     for c in row if _name(c) in ("td", "th")]
            if not cells or not any(t for t, _, _ in cells):
                continue
            if all(th for _, th, _ in cells) and (not lines or len(cells) > 1):
                header = [t for t, _, span in cells for _ in range(span)]
                continue
            lines.append(_row_line(cells, header))
        header_line = " | ".join(h for i, h in enumerate(header) if h and (i == 0 or h != header[i - 1]))
        if lines:
            self.emit("table", "\n".join(lines), header_line)
        elif header_line:
            self.emit("table", header_line)

    def list_text(self, root: Any) -> str:
        """Nested lists as indented lines: "- a", "1. b", "[x] done" (iterative: any depth)."""
        lines: list[str] = []
        stack: list[tuple[Any, int, str]] = [(root, 0, "")]
        while stack:
            el, level, marker = stack.pop()
            name = _name(el)
            if name in LISTS:
                items = [c for c in el if _name(c) in ("li", "task")]
                first = _int(_attr(el, "start"), 1) if name == "ol" else 1
                stack.extend(reversed([(c, level, f"{first + i}." if name == "ol" else "-")
                                       for i, c in enumerate(items)]))
                continue
            body, nested = el, [c for c in el if _name(c) in LISTS]
            if name == "task":
                done = _raw(_child(el, "task-status")).strip().lower() == "complete"
                marker = "[x]" if done else "[ ]"
                body = _child(el, "task-body")
                body = el if body is None else body
                nested += [c for c in body if _name(c) in LISTS] if body is not el else []
            text = _tidy(self.inline(body, skip=LISTS)).replace("\n", " ")
            if text:
                lines.append("  " * min(level, 8) + f"{marker} {text}")
            stack.extend(reversed([(n, level + 1, "") for n in nested]))
        indent = min((len(line) - len(line.lstrip(" ")) for line in lines), default=0)
        return "\n".join(line[indent:] for line in lines)

    # ------------------------------------------------------------------ inline context
    def inline(self, root: Any, skip: frozenset[str] | set[str] = frozenset(),
               plain_root: bool = False) -> str:
        """The text under `root` (not its tail), with links, users, images, macros resolved;
        `plain_root`: read the root's children even when the root itself is a special element."""
        out: list[str] = []
        stack: list[Any] = [root]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                out.append(item)
                continue
            if item is not root and item.tail:
                stack.append(item.tail)
            name = _name(item)
            if not name or name in DROPPED or (name in skip and item is not root):
                continue
            special = None if plain_root and item is root else _SPECIAL.get(name)
            if special is not None:
                out.append(special(self, item))
                continue
            sep = INLINE_SEP.get(name)
            if sep:
                out.append(sep)
                stack.append(sep)
            stack.extend(reversed(item))
            if item.text:
                stack.append(item.text)
        return "".join(out)

    def nested(self, el: Any) -> str:
        if el is None:
            return ""
        if self.depth > MAX_INLINE_DEPTH:
            return _raw(el)
        self.depth += 1
        try:
            return self.inline(el)
        finally:
            self.depth -= 1

    def link(self, el: Any) -> str:
        for c in el:
            name = _name(c)
            if name == "link-body":
                text = _tidy(self.nested(c))
            elif name == "plain-text-link-body":
                text = _tidy(_raw(c))
            else:
                continue
            if text:
                return text
        for c in el:
            text = self.target(c)
            if text:
                return text
        return _attr(el, "anchor")

    def target(self, el: Any) -> str:
        name = _name(el)
        if name in ("page", "blog-post"):
            return _attr(el, "content-title")
        if name == "attachment":
            return _attr(el, "filename")
        if name == "user":
            return self.user(el)
        if name == "space":
            return _attr(el, "space-key")
        return _attr(el, "value") if name == "url" else ""

    def user(self, el: Any) -> str:
        """A display name from the user map; a login name; never a raw account id."""
        for key in ("account-id", "userkey", "username"):
            value = _attr(el, key)
            if value and value in self.users:
                return str(self.users[value])
        login = _attr(el, "username")
        return f"@{login}" if login else "(unknown user)"

    def anchor(self, el: Any) -> str:
        """An HTML link: its text, else its address (never a fragment or a javascript: link)."""
        text = self.inline(el, plain_root=True) if len(el) or el.text else ""
        href = _attr(el, "href")
        return text if text.strip() else (href if href.startswith(("http", "mailto:")) else "")

    def image(self, el: Any) -> str:
        alt = _attr(el, "alt") or _attr(el, "title")
        caption = _child(el, "caption")
        parts = [p for p in (alt.strip(), _tidy(self.nested(caption)) if caption is not None else "") if p]
        return f"[image: {' — '.join(parts)}]" if parts else ""

    def macro_inline(self, el: Any) -> str:
        name = _attr(el, "name").lower()
        if name in NO_TEXT_MACROS:
            return ""
        if name == "status":
            return _param(el, "title")
        if name == "jira":
            return _param(el, "key")
        rich, plain = _child(el, "rich-text-body"), _child(el, "plain-text-body")
        body = self.nested(rich) if rich is not None else _raw(plain).replace("\n", NL)
        if name in LABELS and body.strip():
            return f"{NL}{LABELS[name]}: {body}{NL}"
        return body


def _emoticon(_: _Walker, el: Any) -> str:
    fallback = _attr(el, "emoji-fallback")
    return fallback if fallback and not fallback.startswith(":") else ""


def _time(_: _Walker, el: Any) -> str:
    return _tidy(_raw(el)) or _attr(el, "datetime")


_SPECIAL: dict[str, Any] = {
    "link": _Walker.link, "user": _Walker.user, "a": _Walker.anchor,
    "image": _Walker.image, "img": _Walker.image,
    "structured-macro": _Walker.macro_inline, "macro": _Walker.macro_inline,
    "emoticon": _emoticon, "time": _time, "br": lambda w, el: NL,
    "task-list": lambda w, el: NL + w.list_text(el).replace("\n", NL) + NL,
    "plain-text-body": lambda w, el: _raw(el).replace("\n", NL),
}
