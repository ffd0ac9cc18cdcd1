"""`kb inspect`: what clean and chunk make of one page, with both token counts per chunk."""

from __future__ import annotations

from typing import Any

from ingest.config import ChunkSettings, Settings
from ingest.records import Page
from ingest.text.chunk import Chunker
from ingest.text.tokens import tiktoken_counter, window_counter, window_size


def inspect_page(page: Page, settings: Settings | ChunkSettings | None = None, *, users: Any = None,
                 window: bool = True) -> dict[str, Any]:
    """What clean and chunk make of a page, with both token counts per chunk (for `kb inspect`)."""
    from ingest.text.clean import clean

    count_window = window_counter() if window else None
    window_tokens = window_size() if window else None
    chunker = Chunker(settings.chunk if isinstance(settings, Settings) else settings,
                      count_tokens=tiktoken_counter(), window_tokens=window_tokens, count_window=count_window)
    blocks = clean(page.body_html, users=users)
    chunks, notes = chunker.chunk_with_notes(page, blocks)  # what the index stores
    return {
        "page": {"id": page.id, "title": page.title, "space": page.space_key, "version": page.version,
                 "bytes": len(page.body_html.encode("utf-8", "replace"))},
        "budgets": {"chunk_tokens": chunker.chunk_tokens, "window_tokens": window_tokens,
                    "overlap_tokens": chunker.overlap_tokens,
                    "min_section_tokens": chunker.min_section_tokens},
        "fingerprint": chunker.fingerprint(),
        "blocks": [{"kind": b.kind, "heading_path": list(b.heading_path), "text": b.text,
                    **({"table_header": b.table_header} if b.table_header else {})} for b in blocks],
        "chunks": [{"id": c.id, "header": c.header, "heading_path": list(c.heading_path), "text": c.text,
                    "tokens": c.tokens, "window": count_window(c.embed_text) if count_window else None,
                    "text_hash": c.text_hash} for c in chunks],
        "problems": chunker.check(chunks) + notes,
    }
