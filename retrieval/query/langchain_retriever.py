"""A LangChain retriever over our hybrid search, for use in any LangChain chain.

`as_retriever(settings)` returns a `BaseRetriever`; each Document's page_content is the chunk text
and its metadata carries our fields (chunk_id, page_id, title, url, heading_path, space_key, kind,
updated_at, labels, score, ranks, similarity). Search itself stays ours (`Searcher`); LangChain only
wraps it.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from ingest.config import Settings, as_settings
from retrieval.query.searcher import Filters, Hit, Searcher


def hit_document(hit: Hit) -> Document:
    """A Hit as a LangChain Document: text as content, our fields as metadata."""
    meta = hit.to_dict()
    meta.pop("text")
    meta["labels"] = ",".join(hit.labels)
    return Document(page_content=hit.text, metadata=meta, id=hit.chunk_id)


class KBRetriever(BaseRetriever):
    """Retrieves chunks from the confluence-kb index (hybrid search, filters, per-page cap)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: Searcher
    k: int | None = None
    filters: Filters | None = None
    mode: str | None = None
    principal: Any = None  # an email / account id / Principal: only what they may view; None: all

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                **kwargs: Any) -> list[Document]:
        hits = self.searcher.search(query, k=kwargs.get("k", self.k),
                                    filters=kwargs.get("filters", self.filters),
                                    mode=kwargs.get("mode", self.mode),
                                    principal=kwargs.get("principal", self.principal))
        return [hit_document(h) for h in hits]


def as_retriever(settings: Settings | str | None = None, *, k: int | None = None,
                 filters: Filters | dict[str, Any] | None = None, mode: str | None = None,
                 embedder: Any = None, searcher: Searcher | None = None,
                 principal: Any = None) -> KBRetriever:
    """A LangChain BaseRetriever over the knowledge base named by `settings` (Settings or a path).
    `principal`: an email or account id (or a Principal): only pages they may view; None: all."""
    if searcher is None:
        searcher = Searcher(as_settings(settings), embedder=embedder)
    return KBRetriever(searcher=searcher, k=k, filters=Filters.of(filters) if filters else None, mode=mode,
                       principal=principal)
