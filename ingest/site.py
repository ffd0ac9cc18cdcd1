"""The whole current site as a PyAirbyte cache, for analytics: `site_cache()["pages"].to_pandas()`.

    from ingest import site_cache
    cache = site_cache("config.toml")       # an airbyte DuckDBCache
    df = cache["pages"].to_pandas()         # one row per current page and blog post

The cache is an export of the ledger (which the pull keeps exact: edits, moves, trash, purges,
restores, found by the window read and the count-gated sweep), refreshed incrementally on each
call: PyAirbyte's merge write strategy writes only the rows that changed since the last call, and
pages no longer current are deleted from it. Not access-filtered: every page the ingest account
reads, as the operator sees it (see the README's section on it).
"""

from __future__ import annotations

import os
from typing import Any

from ingest.config import Settings, as_settings
from ingest.errors import KBError
from ingest.pull import _airbyte as src
from ingest.storage.export import SITE_COLUMNS, site_rows
from ingest.storage.ledger import Ledger

__all__ = ["refresh_site", "site_cache"]


def site_cache(settings: Settings | str | os.PathLike[str] | None = None, *, refresh: bool = True) -> Any:
    """The persistent PyAirbyte DuckDB cache of the whole current site, brought up to the ledger first
    (unless `refresh=False`: then as the last call left it)."""
    s = as_settings(settings)
    cache = _open(s)
    if refresh:
        _refresh(s, cache)
    return cache


def refresh_site(settings: Settings | str | os.PathLike[str] | None = None) -> src.Refresh:
    """Bring the cache up to the ledger and say what that wrote (rows, written, deleted, seconds)."""
    s = as_settings(settings)
    cache = _open(s)
    try:
        return _refresh(s, cache)
    finally:
        cache.close()


def _open(settings: Settings) -> Any:
    if not (settings.data_dir / Ledger.FILENAME).exists():
        raise KBError(f"no ledger in {settings.data_dir}: nothing has been pulled there yet",
                      "run `kb pull` (or `kb ingest`) with this configuration first")
    try:
        return src.open_site_cache(settings)
    except Exception as exc:  # DuckDB's lock: another process holds the file open for writing
        why = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise KBError(f"cannot open the site cache {src.site_cache_path(settings)}: {why}",
                      "close the other process that has it open (a notebook's cache), then try again"
                      ) from exc


def _refresh(settings: Settings, cache: Any) -> src.Refresh:
    with Ledger(settings.data_dir, readonly=True) as ledger:
        return src.refresh_site_cache(cache, site_rows(ledger), SITE_COLUMNS)


