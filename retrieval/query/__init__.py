"""Queries over the knowledge base: hybrid search (`searcher`, with `lexical` and `fusion`), cited
answers (`answer`), follow-up questions (`followups`), evaluation (`evaluate`) and a LangChain retriever.
No SQL here: the ledger's reads are `ingest.storage.reads`."""

from __future__ import annotations

from ingest._exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    "Filters": ".searcher",
    "Hit": ".searcher",
    "Searcher": ".searcher",
    "Answer": ".answer",
    "Answerer": ".answer",
    "Citation": ".answer",
    "standalone_query": ".followups",
    "evaluate": ".evaluate",
    "KBRetriever": ".langchain_retriever",
})
