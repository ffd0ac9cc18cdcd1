"""Confluence storage format (XHTML) → a flat list of `Block`s, each under its heading path.

Block kinds: "text" (a paragraph; line breaks kept), "list" (nested lists as indented "- ", "1. ",
"[x] " lines), "table" (rows as "Header: value; Header: value", the header line in
`Block.table_header`), "code" (fenced, with the language), "quote", and "panel" (an info, note,
warning, tip, panel, expand or excerpt body in one block, "Warning: ..."; a body with a table,
code or a heading keeps its blocks, the label on the first). Links become
their text or their target's title, users their display name (never an account id), images their
alt text and caption; parameters, placeholders and text-less macros (toc, children, ...) are dropped.

Parsing: lxml's XML parser in recover mode on the body wrapped in a root that declares every
element prefix the body uses (storage format is XHTML with `ac:`/`ri:` elements). CDATA is turned
into escaped text and HTML named entities into characters first, so the XML parser sees plain XML.
A body the XML parser cannot read cleanly is parsed again with lxml's HTML parser (tag soup);
nesting deeper than libxml2's limit is flattened before that. lxml is used directly rather than
through bs4's tree: bs4 parses a 5 KB page in ~4 ms (about 240 pages/s before any work), lxml in
~0.1 ms (bench/clean_chunk.py --parsers). bs4 (this is the one module that imports it) decodes byte
bodies of unknown encoding (`UnicodeDammit`).

The walk (ingest/text/_walk.py) is iterative for inline text and depth-guarded for blocks, so nesting
thousands deep never hits Python's recursion limit. `clean()` never raises on bad markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from ingest.errors import CleanError
from ingest.records import Block
from ingest.text._walk import _Walker
from ingest.text._xml import _tidy

# Bump when the output for some input changes: it is part of the chunker's fingerprint.
CLEAN_VERSION = "1"

MAX_PARSE_DEPTH = 1500     # libxml2 stops at 2048; deeper tags are dropped (their text kept)

_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_CDATA = re.compile(r"<!\[CDATA\[(.*?)(?:\]\]>|\Z)", re.S)
_AMP = re.compile(r"&(?:(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,7}|[A-Za-z][A-Za-z0-9]{0,31});)?")
_PREFIX = re.compile(r"</?([A-Za-z_][\w.-]*):")  # element prefixes; an unknown attribute prefix → HTML parse
_PROLOG = re.compile(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>", re.I)
_SENTINEL_URI = "urn:kb:"
_XML_SAFE = {"lt", "gt", "amp", "quot", "apos"}


def clean(body_html: str | bytes, *, users: Mapping[str, str] | None = None) -> list[Block]:
    """Storage-format XHTML → blocks. Never raises on bad markup; `CleanError` only when nothing works."""
    text = _decode(body_html)
    if not text.strip():
        return []
    try:
        walker = _Walker(users or {})
        walker.run(_parse(text))
        return walker.blocks
    except Exception as exc:  # a bug or a parser failure: fall back to plain text, never lose the page
        try:
            return _plain_blocks(text)
        except Exception:
            raise CleanError("the page body could not be cleaned", "inspect it with `kb inspect --file`",
                             {"reason": f"{type(exc).__name__}: {exc}"[:300]}) from exc


def _decode(body: str | bytes) -> str:
    text = body if isinstance(body, str) else _decode_bytes(body)
    return _BAD_CHARS.sub("", text) if _BAD_CHARS.search(text) else text


def _decode_bytes(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        from bs4 import UnicodeDammit

        guessed = UnicodeDammit(raw, ["utf-8", "windows-1252", "iso-8859-1"]).unicode_markup
        return guessed or raw.decode("utf-8", "replace")


def _prepare(text: str) -> str:
    """CDATA → escaped text; HTML entities → characters (XML's five stay escaped); bare & escaped."""
    text = _PROLOG.sub("", text)
    if "<![CDATA[" in text:
        text = _CDATA.sub(lambda m: html.escape(m.group(1), quote=False), text)
    if "&" in text:
        text = _AMP.sub(_entity, text)
    return text


def _entity(m: re.Match[str]) -> str:
    name = m.group(1)
    if name is None:
        return "&amp;"
    if name in _XML_SAFE:
        return m.group(0)
    if name[0] == "#":  # HTML5 rules: &#150; is an en dash, an invalid code point is U+FFFD
        char = _BAD_CHARS.sub("", html.unescape(f"&{name};"))
        return html.escape(char, quote=False)
    named = html.entities.html5.get(name + ";")
    return html.escape(named, quote=False) if named else "&amp;" + name + ";"


def _parse(text: str) -> Any:
    """lxml tree of the body: XML (recover) when it parses cleanly, else HTML (tag soup)."""
    from lxml import etree

    text = _prepare(text)
    prefixes = ({"ac", "ri"} | set(_PREFIX.findall(text))) - {"xml", "xmlns"}
    decls = "".join(f' xmlns:{p}="{_SENTINEL_URI}{p}"' for p in sorted(prefixes))
    parser = etree.XMLParser(recover=True, huge_tree=True, resolve_entities=False, no_network=True)
    root = etree.fromstring(f"<kb-root{decls}>{text}</kb-root>", parser)
    errors = [e for e in parser.error_log if e.level >= 2]
    if root is not None and not errors:
        return root
    if any("depth" in e.message.lower() for e in errors):
        text = _flatten_deep(text)
    hparser = etree.HTMLParser(recover=True, huge_tree=True, no_network=True)
    hroot = etree.fromstring(f"<div>{text}</div>", hparser)
    if hroot is None:
        raise ValueError("the HTML parser returned nothing")
    return hroot


_TAG = re.compile(r"<(/?)([A-Za-z][\w:.-]*)([^<>]*?)(/?)>")
_VOID = {"br", "hr", "img", "col", "meta", "link", "input", "area", "base", "wbr", "source", "param"}


def _flatten_deep(text: str) -> str:
    """Drop the tags (not the text) that nest deeper than MAX_PARSE_DEPTH."""
    depth = 0

    def tag(m: re.Match[str]) -> str:
        nonlocal depth
        if m.group(4) or m.group(2).lower() in _VOID:
            return m.group(0) if depth < MAX_PARSE_DEPTH else " "
        if m.group(1):
            depth = max(depth - 1, 0)
            return m.group(0) if depth < MAX_PARSE_DEPTH else " "
        depth += 1
        return m.group(0) if depth <= MAX_PARSE_DEPTH else " "

    return _TAG.sub(tag, text)


def _plain_blocks(text: str) -> list[Block]:
    """Last resort: strip the tags, keep the text."""
    plain = html.unescape(re.sub(r"<[^>]*>", " ", _CDATA.sub(lambda m: m.group(1), text)))
    paragraphs = (_tidy(p) for p in re.split(r"\n\s*\n", plain))
    return [Block("text", p) for p in paragraphs if p]
