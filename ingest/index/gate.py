"""The collection gate: what an index's settings require of the Chroma collection they open.

Each collection's metadata records the embedding model's id and dimensions, the chunker's
fingerprint, the HNSW graph's breadth and the index schema. The index computes them here and hands
them to the store (`ingest.storage.vectors`), which checks them on open and knows nothing of chunkers
or models.
"""

from __future__ import annotations

from typing import Any

from ingest.config import Settings
from ingest.index.embed import Embedder
from ingest.storage.vectors import INDEX_SCHEMA, Store, hnsw_tag, open_collection
from ingest.text.chunk import Chunker


def chunker_fingerprint(settings: Settings, embedder: Embedder) -> str:
    """The chunker's stable id for these settings and this embedder's window."""
    chunker = Chunker(settings.chunk, window_tokens=embedder.max_tokens, count_window=embedder.count_tokens)
    return str(chunker.fingerprint())


def collection_gate(settings: Settings, embedder: Embedder) -> dict[str, Any]:
    """The collection metadata that must match for an index to be usable."""
    return {"model_id": embedder.model_id, "dimensions": int(embedder.dimensions),
            "chunker": chunker_fingerprint(settings, embedder), "index_schema": INDEX_SCHEMA,
            "hnsw": hnsw_tag(settings)}


def open_store(settings: Settings, embedder: Embedder, *, collection: str | None = None,
               create: bool = True, client: Any = None) -> Store:
    """The active collection (or the named one), checked against this index's gate; see
    `ingest.storage.vectors.open_collection`."""
    return open_collection(settings, collection_gate(settings, embedder), collection=collection,
                           create=create, client=client)
