"""confluence-kb, the writing side: pull from Confluence, clean, chunk, embed, store.

Python API: `from ingest import ingest, reindex, pull` — each takes Settings or a config path.
Heavy libraries are imported lazily, inside the stage modules.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ingest", "reindex", "pull", "load_settings", "Settings", "KBError"]


def __getattr__(name: str) -> Any:
    if name in {"ingest", "reindex"}:
        from ingest import pipeline

        return getattr(pipeline, name)
    if name == "pull":
        from ingest.pull import run as sync

        return sync.pull
    if name in {"load_settings", "Settings"}:
        from ingest import config

        return getattr(config, name)
    if name == "KBError":
        from ingest.errors import KBError

        return KBError
    raise AttributeError(name)
