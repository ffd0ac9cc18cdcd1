"""Storage: the ledger (SQLite: pages, chunks + FTS5, runs, cursor, meta; every SQL statement on it
lives in this package), the vector store (Chroma), and the one-writer lock."""

from __future__ import annotations

from ingest._exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    "Ledger": ".ledger",
    "LedgerWatch": ".ledger",
    "PageState": ".ledger",
    "peek_meta": ".ledger",
    "LedgerChunks": ".chunks",
    "LedgerReads": ".reads",
    "PageScope": ".reads",
    "Staging": ".staging",
    "Store": ".vectors",
    "StoreHit": ".vectors",
    "active_collection": ".vectors",
    "make_client": ".vectors",
    "open_collection": ".vectors",
    "writer": ".lock",
})
