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

A large read (a first pull, `--full`, a window of more than `limit` content records) is read the
same way, with `spill`: once the bounded streams pass `limit`, their records go to one JSONL file
per stream under `spill` (orjson, written in 1 MB blocks) and are streamed back from there, so a
first pull of 40,000 pages holds no more of them in memory than a poll does. This replaced the
DuckDB cache for those reads: at 5,000 pages the cache's JSONL batch files, table loads and
commits cost ~1.3 s of a 6.7 s pull (`bench/pull.py`, profiled), for rows read back once.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.config import Settings
from ingest.pull._airbyte import patches
from ingest.pull._airbyte.env import trusted_ca
from ingest.pull._airbyte.meter import RequestMeter, metering
from ingest.pull._airbyte.salvage import Salvage, salvaging


@dataclass
class MemoryCache:
    """Records per stream, as `cache.cached_records` yields them from a DuckDB cache; a spilled
    stream's records are in `files` instead (see `records_of`)."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    spill: Path | None = None

    @property
    def streams(self) -> dict[str, list[dict[str, Any]]]:
        return self.records

    def records_of(self, stream: str) -> Iterator[dict[str, Any]]:
        """The records of `stream` in the order they were read (from its file where it spilled)."""
        yield from self.records.get(stream, ())
        path = self.files.get(stream)
        if path is None:
            return
        import orjson

        with path.open("rb") as f:
            for line in f:
                yield orjson.loads(line)

    def close(self) -> None:
        """The spilled files go (the DuckDB cache's interface: release what the read holds)."""
        if self.spill is not None:
            shutil.rmtree(self.spill, ignore_errors=True)
        self.files.clear()


class _Spiller:
    """The bounded streams' records written to `cache.spill`, one JSONL file per stream: first the
    records the cache held of them, then each one read after."""

    def __init__(self, cache: MemoryCache, bounded: Collection[str]) -> None:
        import orjson

        assert cache.spill is not None
        self.cache, self.root, self.dumps = cache, cache.spill, orjson.dumps
        self.out: dict[str, Any] = {}
        self.root.mkdir(parents=True, exist_ok=True)
        for stream in bounded:
            for held in cache.records.get(stream, ()):
                self.add(stream, held)
            if stream in cache.records:
                cache.records[stream] = []

    def add(self, stream: str, record: dict[str, Any]) -> None:
        out = self.out.get(stream)
        if out is None:
            path = self.cache.files[stream] = self.root / f"{len(self.out)}.jsonl"
            out = self.out[stream] = path.open("wb", buffering=1 << 20)
        out.write(self.dumps(record) + b"\n")

    def close(self) -> None:
        for out in self.out.values():
            out.close()


def spill_dir(root: Path, prefix: str) -> Path:
    """A new spill folder's path under `root` (made when a read first spills); the folders a crashed
    run left with that prefix go (the caller holds the writer lock, or is a dry run with its own)."""
    for stale in root.glob(f"{prefix}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    return root / f"{prefix}-{time.time_ns():x}"


class _TooLarge(Exception):
    """The content streams hold more records than a memory read keeps."""


def read_memory(settings: Settings, source: Any, streams: list[str], meter: RequestMeter, *,
                bounded: Collection[str], limit: int, salvage: Salvage | None = None,
                spill: Path | None = None) -> MemoryCache | None:
    """Read `streams` into memory. When the `bounded` streams together pass `limit` records: with
    `spill`, their records go on into files there (the caller closes the cache: the files go);
    without, the read stops and this returns None. None too when the read failed without a failed
    request (this loop, not Confluence, failed: the caller's cached read then runs as it always
    did). A read that a failed request ended raises as `source.read` does (SourceError), having
    applied nothing; `salvage` then holds the content read before the failure, as it does for the
    cached read."""
    from ingest.pull._airbyte.source import _source_error

    cache = MemoryCache({name: [] for name in streams}, spill=spill)
    spiller: _Spiller | None = None
    seen = 0
    with trusted_ca(settings), metering(meter), salvaging(source, salvage), redirect_stdout(sys.stderr):
        try:
            for stream, record in _records(source, streams):
                if stream not in bounded:
                    cache.records[stream].append(record)
                    continue
                seen += 1
                if spiller is not None:
                    spiller.add(stream, record)
                elif seen <= limit:
                    cache.records[stream].append(record)
                elif spill is None:
                    raise _TooLarge(stream)
                else:
                    spiller = _Spiller(cache, bounded)
                    spiller.add(stream, record)
        except _TooLarge:
            return None
        except Exception as exc:
            cache.close()
            if not (meter.last_failure or meter.hopeless):
                return None  # no failed request: our read loop, not Confluence (read again, cached)
            raise _source_error(exc, meter, settings) from exc
        finally:
            if spiller is not None:
                spiller.close()
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
