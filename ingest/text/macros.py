"""Macro output that storage format hides, taken from the rendered page for the listed macros only.

Storage holds a Jira-issues, excerpt-include, include, children or page-properties-report macro as
parameters; its text exists only in the rendered body (`body.export_view`). Cloud wraps each rendered
macro in an element with `data-macro-name` and `data-macro-id` (the storage macro's `ac:macro-id`;
seen in a real Cloud record, shared/data/confluence/rest_api/v1). `merge_rendered` swaps each listed
macro of the storage body for its rendered element (by macro id, else the n-th of that name), and
keeps the storage structure for everything else. The listed macros hold no other macro in storage,
so a non-greedy match of each is exact.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["DEFAULT_MACROS", "listed_macros", "merge_rendered"]

DEFAULT_MACROS = ("jira", "jiraissues", "excerpt-include", "include", "children", "detailssummary")
_ID = re.compile(r'ac:macro-id="([^"]*)"')


def _pattern(names: Sequence[str]) -> re.Pattern[str]:
    alt = "|".join(map(re.escape, names))
    return re.compile(r'<ac:structured-macro\b(?=[^>]*ac:name="(' + alt + r')")[^>]*?'
                      r"(?:/>|>.*?</ac:structured-macro>)", re.S)


def listed_macros(body: str, names: Sequence[str]) -> bool:
    """Whether the storage body holds any of the listed macros."""
    return bool(names) and "ac:structured-macro" in body and bool(_pattern(names).search(body))


def _rendered_blocks(rendered: str, names: Sequence[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The rendered page's macro elements: by macro id, and by name in document order."""
    from lxml import etree, html

    by_id: dict[str, str] = {}
    by_name: dict[str, list[str]] = {}
    root = html.fromstring(f"<div>{rendered}</div>")
    for el in root.iter():
        name = el.get("data-macro-name") if isinstance(el.tag, str) else None
        if name not in names:
            continue
        if any(a.get("data-macro-name") in names for a in el.iterancestors()):
            continue  # a listed macro inside another's output belongs to that output
        inner = (el.text or "") + "".join(etree.tostring(c, encoding="unicode") for c in el)
        if el.get("data-macro-id"):
            by_id[str(el.get("data-macro-id"))] = inner
        by_name.setdefault(str(name), []).append(inner)
    return by_id, by_name


def merge_rendered(storage: str, rendered: str, names: Sequence[str]) -> str:
    """`storage` with each listed macro replaced by `<div>` + its rendered output (or left as it was
    when the rendered page does not show it)."""
    if not listed_macros(storage, names) or not rendered:
        return storage
    by_id, by_name = _rendered_blocks(rendered, names)
    seen: dict[str, int] = {}

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        n = seen.get(name, 0)
        seen[name] = n + 1
        macro_id = _ID.search(m.group(0))
        out = by_id.get(macro_id.group(1)) if macro_id else None
        if out is None and n < len(by_name.get(name, [])):
            out = by_name[name][n]
        return m.group(0) if out is None else f'<div class="kb-macro-output">{out}</div>'

    return _pattern(names).sub(one, storage)
