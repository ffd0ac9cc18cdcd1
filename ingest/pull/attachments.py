"""The pull's attachments: list them through PyAirbyte, download the new versions, extract, store.

The `attachments` stream (our manifest; CQL `type=attachment AND lastmodified >= window`) lists them
through the CDK like pages. The files themselves are downloaded here, with httpx, from each record's
download link (the same site, credentials and CA): the CDK's declarative streams hand records, not
files, to PyAirbyte's cache. An attachment whose version the ledger already has is never downloaded
again (indexed or skipped). Each indexed attachment becomes its own document (a `pages` row of kind
"attachment": title "Page title › file name", url its download link, its page and the page's
ancestors as ancestors), so it inherits its page's access; see ingest/storage/attachments.py.
A file over the size cap, a scanned PDF, an encrypted, corrupt or unknown file is skipped and
reported in the run's notes; the run goes on.
"""

from __future__ import annotations

from typing import Any

from ingest.pull import _airbyte as src
from ingest.records import Ancestor, AttachmentRef, Page
from ingest.storage.attachments import LedgerAttachments
from ingest.text.files import Skipped, extract, kind_of

__all__ = ["STREAM", "apply_attachments"]

STREAM = "attachments"


def apply_attachments(run: Any, cache: Any) -> None:
    """Download, extract and store the attachments of the window whose version is new."""
    settings, ledger = run.settings, run.ledger
    site = src.site_url(settings)
    refs = [r for r in (src.to_attachment(rec, site=site) for rec in src.cached_records(cache, STREAM)) if r]
    store = LedgerAttachments(ledger)
    known = store.versions()
    todo = [r for r in refs if known.get(r.id) != r.version]
    run.counts["attachments_unchanged"] += len(refs) - len(todo)
    if run.dry_run or not refs:
        return
    done = skipped = 0
    with _client(settings) as client:
        for ref in todo:
            page = ledger.get_page(ref.page_id)
            if page is None or page.status != "current" or page.kind == "attachment":
                continue  # its page is not (yet) in the ledger: not recorded, tried again next pull
            doc, kind, why = _document(client, settings, ref, page)
            with ledger.tx():
                if doc is None:
                    store.record(ref, kind, "skipped", why)
                    store.retire([ref.id])
                else:
                    ledger.upsert_page(doc, run.run_id)
                    store.record(ref, kind, "indexed")
            if doc is None:
                skipped += 1
                run.notes.append(f"attachment {ref.id} {ref.filename!r} on page {ref.page_id} skipped: {why}")
            else:
                done += 1
            if ref.updated_at > run.newest:
                run.newest = ref.updated_at
    with ledger.tx():
        store.retire_orphans()
    run.notes.append(f"attachments: {done} indexed, {skipped} skipped, {len(refs) - len(todo)} unchanged "
                     "(not downloaded)")


def _client(settings: Any) -> Any:
    import httpx

    c = settings.confluence
    return httpx.Client(auth=(c.email, c.api_token.get_secret_value()), verify=c.ca_bundle or True,
                        timeout=settings.pull.timeout_seconds, follow_redirects=True)


def _document(client: Any, settings: Any, ref: AttachmentRef, page: Page) -> tuple[Page | None, str, str]:
    """(the attachment's document, its kind, "") or (None, kind, why it is skipped)."""
    cfg = settings.content
    kind = kind_of(ref.filename, ref.media_type)
    if not kind:
        return None, "", f"unknown type ({ref.media_type or 'no media type'})"
    if ref.size > cfg.attachment_max_bytes:
        return None, kind, f"{ref.size} bytes, over attachment_max_bytes={cfg.attachment_max_bytes}"
    try:
        data = _download(client, ref.download_url, cfg.attachment_max_bytes)
        kind, body = extract(data, ref.filename, ref.media_type, max_chars=cfg.attachment_max_chars)
    except Skipped as exc:
        return None, kind, str(exc)
    except Exception as exc:  # the download failed: reported, retried at the next new version
        return None, kind, f"download failed: {type(exc).__name__}: {str(exc)[:120]}"
    doc = Page(id=ref.id, kind="attachment", space_key=page.space_key, space_name=page.space_name,
               title=f"{page.title} › {ref.filename}", url=ref.download_url, version=ref.version,
               updated_at=ref.updated_at or page.updated_at, body_html=body, author=page.author,
               ancestors=(*page.ancestors, Ancestor(page.id, page.title)))
    return doc, kind, ""


def _download(client: Any, url: str, cap: int) -> bytes:
    chunks, size = [], 0
    with client.stream("GET", url) as response:
        response.raise_for_status()
        for part in response.iter_bytes():
            size += len(part)
            if size > cap:
                raise Skipped(f"over attachment_max_bytes={cap} while downloading")
            chunks.append(part)
    return b"".join(chunks)
