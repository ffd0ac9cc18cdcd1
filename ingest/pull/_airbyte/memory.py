"""A small read held in memory instead of the DuckDB cache: the read of a quiet poll.

A poll of a site where nothing changed reads a window of a few pages (the lookback), the spaces'
counts, the audit log and the access listings: a few hundred small records. Writing them to a new
DuckDB cache (a table per stream, JSONL batch files, the load) cost most of such a poll's time
(~2 s at 20,000 pages, profiled). `read_memory` reads the same streams in one run of the same
source, each record normalised as the cache normalises it (lower-case top-level names, undeclared
fields pruned), into a `MemoryCache` that `cache.cached_records` reads like the DuckDB one. When the
content streams hold more than `limit` records it stops and returns None: the caller reads again
into the DuckDB cache (a large window is bounded in memory there).

The one run with several streams uses PyAirbyte's own read loop (`Source._read_with_catalog`, a
private method: checked by `patches.fits`); elsewhere each stream is read by the public
`Source.get_records`, one run per stream.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Collection, Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from typing import Any

from ingest.config import Settings
from ingest.pull._airbyte import patches
from ingest.pull._airbyte.env import trusted_ca
from ingest.pull._airbyte.meter import RequestMeter, metering
from ingest.pull._airbyte.salvage import Salvage, salvaging


@dataclass
class MemoryCache:
    """Records per stream, as `cache.cached_records` yields them from a DuckDB cache."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def streams(self) -> dict[str, list[dict[str, Any]]]:
        return self.records

    def close(self) -> None:
        """Nothing to release (the DuckDB cache's interface)."""


class _TooLarge(Exception):
    """The content streams hold more records than a memory read keeps."""


def read_memory(settings: Settings, source: Any, streams: list[str], meter: RequestMeter, *,
                bounded: Collection[str], limit: int, salvage: Salvage | None = None) -> MemoryCache | None:
    """Read `streams` into memory; None (the read stopped) when the `bounded` streams together
    hold more than `limit` records, or when the read failed without a failed request (this loop, not
Confluence, failed: the caller's cached read then runs as it always did). A read that a failed
request ended raises as `source.read` does (SourceError), having applied nothing; `salvage` then
holds the content read before the failure, as it does for the cached read."""
    from ingest.pull._airbyte.source import _source_error

    cache = MemoryCache({name: [] for name in streams})
    seen = 0
    with trusted_ca(settings), metering(meter), salvaging(source, salvage), redirect_stdout(sys.stderr):
        try:
            for stream, record in _records(source, streams):
                cache.records[stream].append(record)
                if stream in bounded:
                    seen += 1
                    if seen > limit:
                        raise _TooLarge(stream)
        except _TooLarge:
            return None
        except Exception as exc:
            if not (meter.last_failure or meter.hopeless):
                return None  # no failed request: our read loop, not Confluence (read again, cached)
            raise _source_error(exc, meter, settings) from exc
    return cache


def _records(source: Any, streams: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(stream, record) of one read of `streams`: one run where PyAirbyte's loop fits, else one
    run per stream."""
    from airbyte.records import StreamRecord, StreamRecordHandler

    if not _one_run_fits(source):
        for stream in streams:
            for record in source.get_records(stream, normalize_field_names=True):
                yield stream, dict(record)
        return
    from airbyte.progress import ProgressStyle, ProgressTracker

    catalog = source.get_configured_catalog(streams=streams, force_full_refresh=True)
    handlers = {s: StreamRecordHandler(json_schema=source.get_stream_json_schema(s),
                                       prune_extra_fields=True, normalize_keys=True) for s in streams}
    tracker = ProgressTracker(ProgressStyle.PLAIN, source=source, cache=None, destination=None,
                              expected_streams=streams)
    stop = threading.Event()
    messages = source._read_with_catalog(catalog=catalog, progress_tracker=tracker,
                                         stop_event=stop)
    try:
        for message in messages:
            record = message.record
            if record is not None and record.stream in handlers:
                row = StreamRecord.from_record_message(record_message=record,
                                                       stream_record_handler=handlers[record.stream])
                yield record.stream, dict(row)
    finally:
        stop.set()
        messages.close()


_FITS: dict[type, bool] = {}  # per source class: the version check reads package metadata (~14 ms)


def _one_run_fits(source: Any) -> bool:
    kind = type(source)
    if kind not in _FITS:
        _FITS[kind] = patches.fits("airbyte", "several streams read into memory in one run",
                                   lambda: callable(getattr(source, "_read_with_catalog", None))
                                   and callable(getattr(source, "get_configured_catalog", None)))
    return _FITS[kind]
