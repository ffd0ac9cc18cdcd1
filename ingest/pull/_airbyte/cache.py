"""PyAirbyte's DuckDB cache: one new file per read, memory-capped, rows streamed back out.

`BoundedDuckDBCache` is our own cache subclass, and it is where PyAirbyte's behaviour is changed,
through its hooks rather than by mutating PyAirbyte's classes for the whole process:
- `get_sql_alchemy_connect_args`: DuckDB's memory capped at `[pull] cache_memory_mb`;
- `_sql_processor_class`: a processor whose `file_writer_class` writes the temporary JSONL batch
  files plain instead of gzip level 9 (40% of a full pull's CPU, profiled; DuckDB's
  read_json_auto picks the compression from the suffix). That writer overrides a private method,
  so it is used only on the PyAirbyte version it was checked on (`patches.TESTED`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from ingest.config import Settings
from ingest.pull._airbyte import patches
from ingest.pull._airbyte.env import airbyte_root, import_airbyte, prepare_environment
from ingest.pull._airbyte.memory import MemoryCache

_BOUNDED: dict[int, Any] = {}


def open_cache(settings: Settings, name: str) -> Any:
    """A new, empty DuckDB cache under the data dir (one file per source kind); the previous read's
    file goes. Empty because PyAirbyte's "replace" leaves a stream's old rows when a read returns
    none of it, and the cache must hold exactly the last read; a new file because PyAirbyte keeps
    engines per path in-process."""
    root = prepare_environment(settings)
    import_airbyte()
    cache_class = _bounded_duckdb_cache(settings.pull.cache_memory_mb)
    drop_caches(settings, f"{name}-")
    path = root / f"{name}-{time.time_ns():x}.duckdb"
    return cache_class(db_path=path, schema_name="main", cache_dir=root / "cache-tmp")


def _bounded_duckdb_cache(memory_mb: int) -> Any:
    """PyAirbyte's DuckDBCache with DuckDB's memory capped ([pull] cache_memory_mb; it spills to
    disk beyond). Uncapped (80% of RAM by default) it held ~650 MB loading 20,000 pages' JSON."""
    if memory_mb not in _BOUNDED:
        from airbyte.caches import DuckDBCache

        processor = _processor_class()

        class BoundedDuckDBCache(DuckDBCache):
            _sql_processor_class = processor

            def get_sql_alchemy_connect_args(self) -> dict[str, Any]:
                return {"config": {"memory_limit": f"{memory_mb}MB"}}

        _BOUNDED[memory_mb] = BoundedDuckDBCache
    return _BOUNDED[memory_mb]


def _processor_class() -> Any:
    """DuckDB's SQL processor with plain JSONL batch files, where the writer hook was checked."""
    from airbyte._processors.sql.duckdb import DuckDBSqlProcessor
    from airbyte._writers.jsonl import JsonlWriter

    if not patches.fits("airbyte", "plain JSONL batch files",
                        lambda: callable(getattr(JsonlWriter, "_open_new_file", None))
                        and getattr(DuckDBSqlProcessor, "file_writer_class", None) is JsonlWriter):
        return DuckDBSqlProcessor

    class PlainJsonlWriter(JsonlWriter):
        default_cache_file_suffix = ".jsonl"

        def _open_new_file(self, file_path: Path) -> Any:
            """PyAirbyte's JSONL batch file, uncompressed (a temporary file: loaded, then deleted)."""
            return open(file_path, mode="w", encoding="utf-8")  # PyAirbyte closes it (SIM115)

    class PlainJsonlProcessor(DuckDBSqlProcessor):
        file_writer_class = PlainJsonlWriter

    return PlainJsonlProcessor


@contextmanager
def opened_cache(settings: Settings, name: str) -> Iterator[Any]:
    """A new cache (see open_cache), closed when the block ends: DuckDB's buffers (hundreds of MB
    after a large read) are released instead of staying resident through the index stage."""
    cache = open_cache(settings, name)
    try:
        yield cache
    finally:
        with suppress(Exception):  # closing must not hide the block's own error
            cache.close()


def drop_caches(settings: Settings, prefix: str) -> None:
    """Delete the cache files whose names start with `prefix` (a read's previous file, a dry run's)."""
    for stale in airbyte_root(settings).glob(f"{prefix}*.duckdb*"):
        stale.unlink(missing_ok=True)


def cached_records(cache: Any, stream: str, batch: int = 500) -> Iterator[dict[str, Any]]:
    """Stream the cache's rows of `stream` as plain dicts with nested JSON decoded.
    Read with DuckDB's own cursor in batches and decoded with orjson: a third of the time of
    iterating PyAirbyte's dataset (SQLAlchemy rows, JSON decoded twice)."""
    if stream not in cache.streams:
        return
    if isinstance(cache, MemoryCache):  # a read held in memory, or spilled to its files (memory.py)
        yield from cache.records_of(stream)
        return
    import orjson

    processor = cache.processor
    table = f"{cache.schema_name}.{processor._quote_identifier(processor.get_sql_table_name(stream))}"
    raw = processor.get_sql_engine().raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"SELECT * FROM {table}")  # our cache's own table name (S608)
        names = [d[0] for d in cursor.description]
        while rows := cursor.fetchmany(batch):
            for row in rows:
                yield {k: _decode(v, orjson.loads) for k, v in zip(names, row, strict=True)}
    finally:
        raw.close()


def _decode(value: Any, loads: Any) -> Any:
    """A JSON column's text decoded with `loads`; any other value as it is."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return loads(value)
        except ValueError:
            return value
    return value


def sweep_records(cache: Any, stream: str) -> Iterator[dict[str, Any]]:
    """The items of a sweep stream (each cached row is one listing page of them)."""
    for row in cached_records(cache, stream):
        yield from row.get("results") or ()


def space_names(cache: Any, stream: str = "spaces") -> dict[str, str]:
    return {str(r.get("key")): str(r.get("name") or "") for r in cached_records(cache, stream)}



def _table(cache: Any, stream: str) -> str:
    processor = cache.processor
    return f"{cache.schema_name}.{processor._quote_identifier(processor.get_sql_table_name(stream))}"


def key_values(cache: Any, stream: str, key: str, value: str) -> dict[str, str]:
    """`key` -> `value` of every row of the cache's `stream` table ({} when it has none): two of the
    cache's own column names."""
    if stream not in cache:
        return {}
    raw = cache.processor.get_sql_engine().raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f'SELECT "{key}", "{value}" FROM {_table(cache, stream)}')  # our own names (S608)
        return {str(k): str(v) for k, v in cursor.fetchall()}
    finally:
        raw.close()


def delete_rows(cache: Any, stream: str, key: str, values: list[str], batch: int = 500) -> None:
    """Delete the rows of `stream` whose `key` is one of `values` (one transaction)."""
    raw = cache.processor.get_sql_engine().raw_connection()
    try:
        cursor = raw.cursor()
        for start in range(0, len(values), batch):
            part = values[start:start + batch]
            cursor.execute(f'DELETE FROM {_table(cache, stream)} WHERE "{key}" IN '  # our own names (S608)
                           f"({', '.join('?' * len(part))})", part)
        raw.commit()
    finally:
        raw.close()
