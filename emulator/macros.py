"""The emulator's rendering of the macros whose output storage format hides (in `body.view` and
`body.export_view`): Jira issues, excerpt-include, include, children display, page-properties report.

Each rendered macro is wrapped as Cloud wraps it: `<div class="conf-macro output-block"
data-hasbody="false" data-macro-name="NAME" data-macro-id="ID">...</div>` (`ID` is the storage
macro's `ac:macro-id`; see the real Cloud record in shared/data/confluence/rest_api/v1). Jira issues
come from `JIRA_ISSUES`, a small fixed tracker of the emulated site (a key, or a JQL `project = KEY`).
These macros hold no other macro in storage, so a non-greedy match of each is exact.
"""

from __future__ import annotations

import html
import re
from typing import Any

from emulator.store import Store

__all__ = ["JIRA_ISSUES", "RENDERED", "render_macros"]

RENDERED = ("jira", "jiraissues", "excerpt-include", "include", "children", "detailssummary")
JIRA_ISSUES = {
    "CVD-101": ("Gateway drops idle TLS sessions after 30 seconds", "In Progress"),
    "CVD-102": ("Registry token renewal fails on leap days", "Done"),
    "CVD-103": ("corvidctl drain hangs when a node is already cordoned", "To Do"),
    "OPS-7": ("Pager rotation export misses the weekend shift", "Done"),
}
_MACRO = re.compile(r'<ac:structured-macro\b(?=[^>]*ac:name="(' + "|".join(map(re.escape, RENDERED))
                    + r')")([^>]*?)(?:/>|>(.*?)</ac:structured-macro>)', re.S)
_PARAM = re.compile(r'<ac:parameter ac:name="([^"]*)"[^>]*>(.*?)</ac:parameter>', re.S)
_TITLE = re.compile(r'ri:content-title="([^"]*)"')
_ID = re.compile(r'ac:macro-id="([^"]*)"')
_EXCERPT = re.compile(r'<ac:structured-macro\b[^>]*ac:name="excerpt"[^>]*>.*?<ac:rich-text-body>(.*?)'
                      r'</ac:rich-text-body>', re.S)
_ROW = re.compile(r"<tr>\s*<th>(.*?)</th>\s*<td>(.*?)</td>\s*</tr>", re.S)
_TAG = re.compile(r"<[^>]*>")


def render_macros(body: str, store: Store | None, page: Any = None) -> str:
    """`body` with each listed macro replaced by its emulated output, wrapped as Cloud wraps it."""
    if store is None or "ac:structured-macro" not in body:
        return body

    def one(m: re.Match[str]) -> str:
        name, attrs, inner = m.group(1), m.group(2), m.group(3) or ""
        params = {k: html.unescape(_TAG.sub("", v)) for k, v in _PARAM.findall(inner)}
        macro_id = (_ID.search(attrs) or _ID.search(m.group(0)))
        out = _output(name, params, inner, store, page)
        return (f'<div class="conf-macro output-block" data-hasbody="false" data-macro-name="{name}" '
                f'data-macro-id="{macro_id.group(1) if macro_id else ""}">{out}</div>')

    return _MACRO.sub(one, body)


def _output(name: str, params: dict[str, str], inner: str, store: Store, page: Any) -> str:
    if name in ("jira", "jiraissues"):
        return _jira(params)
    if name in ("excerpt-include", "include"):
        title = _TITLE.search(inner)
        want = html.unescape(title.group(1)) if title else None
        found = [i for i in store.select(["page", "blogpost"]) if i.title == want]
        if not found:
            return ""
        body = found[0].body
        excerpt = _EXCERPT.search(body) if name == "excerpt-include" else None
        return excerpt.group(1) if excerpt else body
    if name == "children" and page is not None:
        kids = [i for i in store.select(["page"]) if i.parent_id == page.id]
        return "<ul>" + "".join(f"<li>{html.escape(k.title)}</li>" for k in kids) + "</ul>"
    if name == "detailssummary":
        label = params.get("label", "")
        pages = [i for i in store.select(["page"]) if label in i.labels]
        rows = []
        for p in pages:
            props = "; ".join(f"{_TAG.sub('', k).strip()}: {_TAG.sub('', v).strip()}"
                              for k, v in _ROW.findall(p.body))
            rows.append(f"<tr><td>{html.escape(p.title)}</td><td>{html.escape(props)}</td></tr>")
        return "<table><tr><th>Title</th><th>Properties</th></tr>" + "".join(rows) + "</table>"
    return ""


def _jira(params: dict[str, str]) -> str:
    key = params.get("key", "").strip()
    jql = params.get("jqlQuery", "")
    project = re.search(r"project\s*=\s*\"?([A-Z][A-Z0-9]*)", jql)
    keys = [key] if key else [k for k in JIRA_ISSUES if project and k.startswith(project.group(1) + "-")]
    rows = "".join(f"<tr><td>{k}</td><td>{html.escape(JIRA_ISSUES[k][0])}</td>"
                   f"<td>{JIRA_ISSUES[k][1]}</td></tr>" for k in keys if k in JIRA_ISSUES)
    return f"<table><tr><th>Key</th><th>Summary</th><th>Status</th></tr>{rows}</table>"
