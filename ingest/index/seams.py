"""The seams the indexer is given, as small Protocols: the real parts (`ingest.text`'s clean and
Chunker, `ingest.storage`'s Store, LedgerChunks and Staging) fit them, and tests give stand-ins."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from ingest.records import Block, Chunk, Page


class Chunking(Protocol):
    """Blocks -> Chunks for one page (ingest.text.chunk.Chunker; tests give stand-ins)."""

    def fingerprint(self) -> str: ...

    def chunk(self, page: Page, blocks: Sequence[Block]) -> Iterable[Chunk]: ...


class Cleaning(Protocol):
    """Storage XHTML -> Blocks (ingest.text.clean.clean)."""

    def __call__(self, body: str, /, *, users: Mapping[str, str] | None = None) -> Sequence[Block]: ...


class VectorStore(Protocol):
    """The vectors the indexer writes and reuses (ingest.storage.vectors.Store)."""

    def upsert(self, ids: Sequence[str], vectors: np.ndarray,
               metadatas: Sequence[Mapping[str, Any]]) -> None: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def delete_pages(self, page_ids: Sequence[str]) -> None: ...

    def ids_of_pages(self, page_ids: Sequence[str]) -> dict[str, set[str]]: ...

    def get(self, ids: Sequence[str], *,
            vectors: bool = True) -> dict[str, tuple[np.ndarray | None, dict]]: ...


class RowSink(Protocol):
    """Where a group's chunk rows and page fingerprints go: the live ledger or reindex's staging."""

    def replace(self, works: Sequence[Any]) -> None: ...
