"""confluence-kb, the reading side: hybrid search, cited answers, the HTTP server.

Python API: `from retrieval import search, ask, as_retriever`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["search", "ask", "as_retriever"]


def __getattr__(name: str) -> Any:
    if name == "search":
        from retrieval import search as module

        return module.search
    if name == "ask":
        from retrieval import answer

        return answer.ask
    if name == "as_retriever":
        from retrieval import langchain_retriever

        return langchain_retriever.as_retriever
    raise AttributeError(name)
