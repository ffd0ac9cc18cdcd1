"""Comments as Cloud serves them: content of type "comment" whose container is its page.

A comment is an `Item` with `type="comment"`, `parent_id` = its page, `location` "footer" or "inline"
and, for an inline comment, `selection`: the annotated text. Cloud's shapes (v1 `Content`): the
`container` is the page (a content object), `extensions` holds `location` and, for inline comments,
`inlineProperties` (`originalSelection`, `markerRef`); `_links.webui` opens the page at the comment
(`?focusedCommentId=ID#comment-ID`). Served by `GET /content/{id}/child/comment` (`location=` filters,
repeatable) and found by CQL `type=comment` like any content.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote_plus

from emulator.store import Item, Store

__all__ = ["comment_parts", "comments_of", "marker_ref"]


def marker_ref(item: Item) -> str:
    """The inline marker's ref (Cloud: a uuid in `ac:inline-comment-marker ac:ref`), stable per comment."""
    digest = hashlib.md5(f"comment-{item.id}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def comments_of(store: Store, page_id: str, locations: list[str] | None = None) -> list[Item]:
    """The page's current comments (in the given locations), oldest first."""
    found = [i for i in store.select(["comment"]) if i.parent_id == page_id
             and (not locations or i.location in locations)]
    return sorted(found, key=lambda i: (i.created_ms, i.id_key))


def comment_parts(out: dict[str, Any], item: Item, store: Store, base: str, expand: dict[str, Any]) -> None:
    """Turn a content object of a comment into Cloud's comment shape (in place)."""
    page = store.items.get(item.parent_id or "")
    if "container" in expand and page is not None:
        out["container"] = {"id": page.id, "type": page.type, "status": page.status, "title": page.title,
                            "_links": {"self": f"{base}/rest/api/content/{page.id}", "webui": _webui(page)}}
    ext: dict[str, Any] = {"location": item.location or "footer"}
    if item.location == "inline":
        ext["inlineProperties"] = {"originalSelection": item.selection, "markerRef": marker_ref(item),
                                   "markerRefList": [], "inlineMarkerRef": marker_ref(item)}
    else:
        ext["_expandable"] = {"resolution": ""}
    out["extensions"] = ext
    if page is not None:
        out["_links"]["webui"] = f"{_webui(page)}?focusedCommentId={item.id}#comment-{item.id}"


def _webui(page: Item) -> str:
    return f"/spaces/{page.space}/pages/{page.id}/{quote_plus(page.title)}"
