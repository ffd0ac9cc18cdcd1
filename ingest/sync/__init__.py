"""Continuous sync: one long-running writer that polls Confluence every `[sync] every` and indexes what
changed, with the model kept loaded (`loop`), backing off on failures (`backoff`), and leaving a
status file that `kb status` and `/v1/status` read (`health`)."""

from __future__ import annotations

from ingest._exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    "SyncLoop": ".loop",
    "install_signals": ".loop",
    "read_health": ".health",
    "freshness": ".health",
    "Stopped": "ingest.errors",
})
