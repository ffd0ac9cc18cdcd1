"""The pull: Confluence through PyAirbyte into the ledger, exactly (`run`), decided by pure
functions (`reconcile`). PyAirbyte itself stays behind `ingest.pull._airbyte`."""

from __future__ import annotations

from ingest._exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    "pull": ".run",
    "iter_work": ".run",
    "cursor_key": ".cursor",
    "PullReport": "ingest.records",
    "WorkItem": "ingest.records",
})
