"""The index: embed chunks (`embed`), keep the Chroma collection and the ledger's chunk rows equal to
the pulled pages (`indexer`), rebuild beside the live index and switch (`rebuild`), and the collection
gate handed to the store (`gate`)."""

from __future__ import annotations

from ingest._exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    "Embedder": ".embed",
    "FakeEmbedder": ".embed",
    "load_embedder": ".embed",
    "chunker_fingerprint": ".gate",
    "collection_gate": ".gate",
    "open_store": ".gate",
    "Indexer": ".indexer",
    "IndexReport": ".indexer",
    "chunk_metadata": ".indexer",
    "page_fingerprint": ".indexer",
    "ReindexReport": ".rebuild",
    "rebuild": ".rebuild",
})
