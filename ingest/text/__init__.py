"""Text: Confluence storage format cleaned to blocks (`clean`), blocks chunked along the heading path
within token budgets (`chunk`), tokens counted (`tokens`), a page inspected (`inspect`)."""

from __future__ import annotations

from ingest._exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    "CHUNKER_VERSION": ".chunk",
    "Chunker": ".chunk",
    "check_budgets": ".chunk",
    "CLEAN_VERSION": ".clean",
    "clean": ".clean",
    "inspect_page": ".inspect",
})
