"""The whole current site as a persistent PyAirbyte DuckDB cache: `cache["pages"].to_pandas()`.

One file, `<data dir>/airbyte/site.duckdb`, written from the ledger's rows (`ingest.storage.export`)
by PyAirbyte's own SQL processor with the merge write strategy (primary key `id`): only the rows
whose content changed since the last refresh are written, and the ids no longer current are
deleted. Each row carries `row_hash` (sha1 of its other columns) so a refresh finds what changed
without comparing bodies. The stream is registered in the cache's catalog under the source name
`confluence-kb-ledger`, so a plain `airbyte.caches.DuckDBCache(db_path=...)` opened later reads it too.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.config import Settings
from ingest.pull._airbyte.cache import _bounded_duckdb_cache, delete_rows, key_values
from ingest.pull._airbyte.env import import_airbyte, prepare_environment

STREAM = "pages"
SOURCE_NAME = "confluence-kb-ledger"
FILENAME = "site.duckdb"
_TYPES = {"version": {"type": ["null", "integer"]},
          "labels": {"type": ["null", "array"], "items": {"type": "string"}},
          "ancestors": {"type": ["null", "array"], "items": {"type": "array", "items": {"type": "string"}}},
          "read_users": {"type": ["null", "array"], "items": {"type": "string"}},
          "read_groups": {"type": ["null", "array"], "items": {"type": "string"}},
          "properties": {"type": ["null", "object"]}}


@dataclass(frozen=True)
class Refresh:
    """What a refresh did: rows in the cache after it, written (new or changed), deleted, seconds."""

    rows: int
    written: int
    deleted: int
    seconds: float


def site_cache_path(settings: Settings, filename: str = FILENAME) -> Path:
    return prepare_environment(settings) / filename


def open_site_cache(settings: Settings, filename: str = FILENAME) -> Any:
    """The persistent cache (created empty the first time); PyAirbyte's DuckDBCache subclass."""
    path = site_cache_path(settings, filename)
    import_airbyte()
    cache_class = _bounded_duckdb_cache(settings.pull.cache_memory_mb)
    return cache_class(db_path=path, schema_name="main", cache_dir=path.parent / "cache-tmp")


def refresh_site_cache(cache: Any, rows: Iterable[Mapping[str, Any]], columns: tuple[str, ...]) -> Refresh:
    """Bring the cache's `pages` to exactly `rows` (the ledger's current site): merge-write the new
    and changed rows, delete the ids that are gone. Nothing is written when nothing changed."""
    started = time.monotonic()
    have = key_values(cache, STREAM, "id", "row_hash")
    seen: set[str] = set()
    changed: list[dict[str, Any]] = []
    for row in rows:
        record = {k: row[k] for k in columns}
        record["row_hash"] = _row_hash(record)
        seen.add(str(record["id"]))
        if have.get(str(record["id"])) != record["row_hash"]:
            changed.append(record)
    gone = sorted(set(have) - seen)
    if changed or (not have and STREAM not in cache):
        _merge(cache, changed, columns)
    if gone:
        delete_rows(cache, STREAM, "id", gone)
    return Refresh(rows=len(seen), written=len(changed), deleted=len(gone),
                   seconds=time.monotonic() - started)


def _row_hash(record: Mapping[str, Any]) -> str:
    import orjson

    return hashlib.sha1(orjson.dumps(record, option=orjson.OPT_SORT_KEYS), usedforsecurity=False).hexdigest()


def _merge(cache: Any, records: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    """Write `records` through PyAirbyte's SQL processor with WriteStrategy.MERGE (key `id`)."""
    from airbyte.progress import ProgressStyle, ProgressTracker
    from airbyte.shared.catalog_providers import CatalogProvider
    from airbyte.strategies import WriteStrategy
    from airbyte_protocol.models import (
        AirbyteMessage,
        AirbyteRecordMessage,
        AirbyteStream,
        ConfiguredAirbyteCatalog,
        ConfiguredAirbyteStream,
        DestinationSyncMode,
        SyncMode,
        Type,
    )

    props = {c: _TYPES.get(c, {"type": ["null", "string"]}) for c in (*columns, "row_hash")}
    stream = AirbyteStream(name=STREAM, json_schema={"type": "object", "properties": props},
                           supported_sync_modes=[SyncMode.full_refresh, SyncMode.incremental],
                           source_defined_primary_key=[["id"]])
    catalog = ConfiguredAirbyteCatalog(streams=[ConfiguredAirbyteStream(
        stream=stream, sync_mode=SyncMode.incremental, destination_sync_mode=DestinationSyncMode.append_dedup,
        primary_key=[["id"]])])
    processor = cache.get_record_processor(source_name=SOURCE_NAME, catalog_provider=CatalogProvider(catalog))
    now = int(time.time() * 1000)

    def messages() -> Iterator[Any]:
        for record in records:
            yield AirbyteMessage(type=Type.RECORD,
                                 record=AirbyteRecordMessage(stream=STREAM, data=record, emitted_at=now))

    tracker = ProgressTracker(ProgressStyle.NONE, source=None, cache=cache, destination=None,
                              expected_streams=[STREAM])
    with redirect_stdout(sys.stderr):
        processor.process_airbyte_messages(messages(), write_strategy=WriteStrategy.MERGE,
                                           progress_tracker=tracker)
