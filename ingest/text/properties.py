"""Page properties: the key/value table of a page's Page Properties (`details`) macro, as metadata.

Confluence's Page Properties macro (`<ac:structured-macro ac:name="details">`) holds a two-column
table: each row a key (the first cell, usually a `th`) and a value. Keys are matched case-insensitively
(kept lower-cased, white space collapsed); values keep their text (links and users as their text,
status lozenges as their title). A page may hold several such macros; a key seen twice keeps its
first value. Used as filters: `kb search --property status=Approved`, `Filters(properties=...)`.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["page_properties", "property_key"]

_DETAILS = re.compile(r'ac:name="details"')
_SPACE = re.compile(r"\s+")


def property_key(key: str) -> str:
    return _SPACE.sub(" ", key).strip().lower()


def _text(el: Any) -> str:
    parts = []
    for node in el.iter():
        name = str(node.tag).rsplit("}", 1)[-1].split(":")[-1] if isinstance(node.tag, str) else ""
        if name == "parameter" and node.get("{urn:kb:ac}name", node.get("ac:name", "")) == "title":
            parts.append(node.text or "")  # a status lozenge's title
        elif name not in ("parameter",) and node.text:
            parts.append(node.text)
        if node is not el and node.tail:
            parts.append(node.tail)
    return _SPACE.sub(" ", "".join(parts)).strip()


def page_properties(body: str) -> dict[str, str]:
    """{key: value} of the page's Page Properties macros ({} when there are none)."""
    if not body or not _DETAILS.search(body):
        return {}
    from ingest.text.clean import _parse

    out: dict[str, str] = {}
    try:
        root = _parse(body)
    except Exception:  # a body the cleaner cannot parse has no properties we can trust
        return {}
    for macro in root.iter():
        if not isinstance(macro.tag, str) or not macro.tag.endswith("structured-macro"):
            continue
        if not any(v == "details" for k, v in macro.attrib.items() if k.endswith("name")):
            continue
        for row in (r for r in macro.iter() if isinstance(r.tag, str) and r.tag.rsplit("}", 1)[-1] == "tr"):
            cells = [c for c in row if isinstance(c.tag, str) and c.tag.rsplit("}", 1)[-1] in ("th", "td")]
            if len(cells) >= 2:
                key, value = property_key(_text(cells[0])), _text(cells[1])
                if key and key not in out:
                    out[key] = value
    return out
