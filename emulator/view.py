"""The emulator's rendered bodies (`body.view`, `body.export_view`): storage markup with Cloud's heading ids.

Cloud renders each heading with the id `<page title>-<heading text>`, white space removed from both
and nothing else changed; a repeated id gets `.1`, `.2`, ... (see a real record's
`<h2 id="Overview-📄RecentpagesthatI've workedon">` in shared/data/confluence/rest_api/v1/
airbyte_cloud_expected_records.jsonl). The emulator does not render the rest: everything else
in the view is the storage markup. The knowledge base builds the same ids on its side
(ingest/text/anchors.py); the emulator imports nothing of it, so the rule is written twice and a
test holds the two equal.
"""

from __future__ import annotations

import html
import re

__all__ = ["heading_ids", "render_view"]

_HEADING = re.compile(r"<h([1-6])(\s[^>]*)?>(.*?)</h\1\s*>", re.S | re.I)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)


def _text(inner: str) -> str:
    inner = _CDATA.sub(lambda m: html.escape(m.group(1)), inner)
    return html.unescape(_TAG.sub("", inner))


def heading_ids(title: str, body: str) -> list[str]:
    """The ids Cloud gives the body's headings, in document order (headings without text: none)."""
    return [hid for _, hid in _ids(title, body) if hid]


def _ids(title: str, body: str) -> list[tuple[re.Match[str], str]]:
    seen: dict[str, int] = {}
    out = []
    prefix = _SPACE.sub("", title)
    for m in _HEADING.finditer(body):
        key = _SPACE.sub("", _text(m.group(3)))
        if not key:
            out.append((m, ""))
            continue
        n = seen.get(key, 0)
        seen[key] = n + 1
        out.append((m, f"{prefix}-{key}" + (f".{n}" if n else "")))
    return out


def render_view(title: str, body: str) -> str:
    """The body with `id="…"` on every heading that has text, as Cloud's view shows it."""
    parts, last = [], 0
    for m, hid in _ids(title, body):
        if not hid:
            continue
        attrs = re.sub(r'\sid="[^"]*"', "", m.group(2) or "")
        parts.append(body[last:m.start()])
        parts.append(f'<h{m.group(1)} id="{html.escape(hid)}"{attrs}>{m.group(3)}</h{m.group(1)}>')
        last = m.end()
    parts.append(body[last:])
    return "".join(parts)
