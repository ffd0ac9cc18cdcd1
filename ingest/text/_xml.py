"""Element helpers for the storage-format walk: local names, attributes, raw text, tables, params.

Names are compared by local name ("structured-macro" for `ac:structured-macro`), whatever the prefix
or namespace the parser kept.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

NL = "\x1e"                # an intended line break inside inline text (control chars are stripped)
_SPACE = re.compile(r"[ \t\n\r\f\v\xa0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]+")
_NL_RUN = re.compile(r" ?\x1e[ \x1e]*")


@lru_cache(maxsize=2048)
def _local(tag: str) -> str:
    if tag[:1] == "{":
        tag = tag.partition("}")[2]
    return tag.rpartition(":")[2].lower()


def _name(el: Any) -> str:
    """Local name of an element ("structured-macro" for ac:structured-macro); "" for comments/PIs."""
    tag = el.tag
    return _local(tag) if isinstance(tag, str) else ""


def _attr(el: Any, local: str) -> str:
    """An attribute by its local name, whatever its prefix or namespace."""
    for key, value in el.attrib.items():
        if key == local or key.endswith((":" + local, "}" + local)):
            return str(value)
    return ""


def _child(el: Any, local: str) -> Any:
    for c in el:
        if _name(c) == local:
            return c
    return None


def _raw(el: Any) -> str:
    """All text under an element, verbatim (code bodies)."""
    return "".join(t for t in el.itertext() if isinstance(t, str)) if el is not None else ""


def _tidy(text: str) -> str:
    """Collapse source whitespace; keep intended line breaks (NL)."""
    text = _SPACE.sub(" ", text)
    if NL in text:
        text = _NL_RUN.sub("\n", text)
    return text.strip(" \n")


def _fence(code: str, lang: str = "") -> str:
    code = code.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if not code.strip():
        return ""
    fence = "```"
    while fence in code:
        fence += "`"
    lang = re.sub(r"[^\w+#.-]", "", lang)[:30]
    return f"{fence}{lang}\n{code}\n{fence}"


def _param(el: Any, key: str) -> str:
    """A macro parameter's text; key "" is the unnamed (default) parameter."""
    for c in el:
        name = _name(c)
        if (name == "parameter" and _attr(c, "name").lower() == key) or (
                not key and name == "default-parameter"):
            return _tidy(_raw(c))
    return ""


def _rows(table: Any) -> list[Any]:
    rows = []
    for c in table:
        name = _name(c)
        if name == "tr":
            rows.append(c)
        elif name in ("thead", "tbody", "tfoot"):
            rows.extend(r for r in c if _name(r) == "tr")
    return rows


def _row_line(cells: list[tuple[str, bool, int]], header: list[str]) -> str:
    """ "Col: value; Col2: value2" under a header; "Key: v1 | v2" for a row header; else "a | b"."""
    if not header:
        if len(cells) > 1 and cells[0][1] and not cells[1][1]:
            rest = [t for t, _, _ in cells[1:] if t]
            return f"{cells[0][0]}: {' | '.join(rest)}" if rest else cells[0][0]
        return " | ".join(t for t, _, _ in cells if t)
    values, col = [], 0
    for text, _, span in cells:
        name = header[col] if col < len(header) else ""
        col += span
        if text:
            values.append(f"{name}: {text}" if name and name != text else text)
    return "; ".join(values)


def _span(cell: Any) -> int:
    return min(max(_int(_attr(cell, "colspan"), 1), 1), 50)


def _int(value: str, default: int) -> int:
    try:
        return int(value.strip()[:6])
    except ValueError:
        return default
