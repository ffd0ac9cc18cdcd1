"""confluence-kb, the writing side: pull from Confluence, clean, chunk, embed, store.

Python API: `from ingest import ingest, reindex, check` (and `from ingest.pull import pull` for
the pull alone) — each takes Settings or a config path; `check` tests the connection;
`site_cache` is the whole current site as a PyAirbyte DuckDB cache (`["pages"].to_pandas()`).
Heavy libraries are imported lazily, inside the stage modules. (`ingest.pull` is the pull's
sub-package, so it cannot also be the function here.)
"""

from __future__ import annotations

from ingest._exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    "ingest": "ingest.pipeline",
    "reindex": "ingest.pipeline",
    "check": "ingest.pull.check",
    "site_cache": "ingest.site",
    "CheckReport": "ingest.pull.check",
    "load_settings": "ingest.config",
    "Settings": "ingest.config",
    "KBError": "ingest.errors",
})
