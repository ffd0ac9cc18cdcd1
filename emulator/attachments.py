"""Attachments as Cloud serves them: content of type "attachment" whose container is its page.

An attachment is an `Item` with `type="attachment"`, `parent_id` = its page, `title` = the file name,
`media_type`, and the file's bytes as its (compressed) body (`data_b64` in a corpus line or an admin
create; an admin edit bumps its version). Cloud's shapes (v1 `Content`): `extensions.mediaType`,
`extensions.fileSize`, `metadata.mediaType`, `container` (the page) and `_links.download`
(`/download/attachments/PAGE/FILE?version=N&modificationDate=MS&api=v2`, relative to the wiki base).
Listed by `GET /content/{id}/child/attachment`, found by CQL `type=attachment`, and downloaded from
`GET /wiki/download/attachments/PAGE/FILE` (every download is in the request log).
"""

from __future__ import annotations

import zlib
from typing import Any
from urllib.parse import quote, unquote

from emulator.store import Item, Store

__all__ = ["attachment_parts", "attachments_of", "download", "download_link"]


def attachments_of(store: Store, page_id: str, filename: str | None = None,
                   media_type: str | None = None) -> list[Item]:
    found = [i for i in store.select(["attachment"]) if i.parent_id == page_id
             and (filename is None or i.title == filename)
             and (media_type is None or i.media_type == media_type)]
    return sorted(found, key=lambda i: i.id_key)


def download_link(item: Item) -> str:
    return (f"/download/attachments/{item.parent_id}/{quote(item.title)}?version={item.version}"
            f"&modificationDate={item.updated_ms}&api=v2")


def attachment_parts(out: dict[str, Any], item: Item, store: Store, base: str,
                     expand: dict[str, Any]) -> None:
    """Turn a content object of an attachment into Cloud's attachment shape (in place)."""
    size = len(zlib.decompress(item.body_z))
    page = store.items.get(item.parent_id or "")
    if "container" in expand and page is not None:
        out["container"] = {"id": page.id, "type": page.type, "status": page.status, "title": page.title,
                            "_links": {"self": f"{base}/rest/api/content/{page.id}"}}
    out["metadata"] = {**out.get("metadata", {}), "mediaType": item.media_type, "comment": ""}
    out["extensions"] = {"mediaType": item.media_type, "fileSize": size, "comment": "",
                         "mediaTypeDescription": item.media_type.split("/")[-1].upper()}
    out["_links"]["download"] = download_link(item)
    if page is not None:
        out["_links"]["webui"] = (f"/pages/viewpageattachments.action?pageId={page.id}"
                                  f"&preview=/{page.id}/{item.id}")


def download(store: Store, page_id: str, filename: str) -> tuple[bytes, dict[str, str]] | None:
    """The file's bytes and headers (the current version, as Cloud serves it); None: no such file."""
    name = unquote(filename)
    found = [i for i in attachments_of(store, page_id, name) if i.status == "current"]
    if not found:
        return None
    item = found[0]
    return zlib.decompress(item.body_z), {"Content-Type": item.media_type or "application/octet-stream",
                                          "Content-Disposition": f'attachment; filename="{quote(name)}"'}
