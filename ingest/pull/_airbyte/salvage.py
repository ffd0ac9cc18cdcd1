"""What a failed read had already read: the records of chosen streams, kept beside the cache.

PyAirbyte writes a read into its cache only when the read ends well: a read that fails at page
40,000 of a first pull leaves nothing to apply, and the next run starts again from nothing
(issue 17: "a pull that fails late keeps nothing of what it already read"). `Salvage` sees every
message of the read on its way to the cache (one wrapper around the source's message generator,
for the duration of one read) and keeps, in a JSONL file under the data dir:
- the records of the streams it was asked to keep (the content streams), as the connector
  emitted them, top-level keys normalised the way PyAirbyte's cache names its columns;
- which streams reached COMPLETE (the CDK's stream-status trace messages).
The content streams are read in `lastmodified ASC` order, so the records kept of an unfinished
stream are a prefix of it: `ingest.pull.run` applies them with a cursor no newer than that prefix.

The wrapper replaces a private method of the Source object (`_read_with_catalog`, a generator of
AirbyteMessages) on that one object: it is used only on the PyAirbyte version it was checked on
(`patches.TESTED`); elsewhere a failed read keeps nothing, as before.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.pull._airbyte import patches

HOOK = "_read_with_catalog"


@dataclass
class Salvage:
    """The kept records of `streams` in one read (a file under `root`), and the finished streams."""

    root: Path
    streams: frozenset[str]
    complete: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    active: bool = False
    path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.path = self.root / f"salvage-{time.time_ns():x}.jsonl"

    def records(self, stream: str) -> Iterator[dict[str, Any]]:
        """The kept records of `stream`, in the order they were read."""
        if not self.path.exists():
            return
        import orjson

        with self.path.open("rb") as f:
            for line in f:
                name, record = orjson.loads(line)
                if name == stream:
                    yield record

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


@contextmanager
def salvaging(source: Any, salvage: Salvage | None) -> Iterator[Salvage | None]:
    """Keep `salvage`'s streams of every read `source` makes inside the block (None: keep nothing)."""
    original = getattr(source, HOOK, None)
    if salvage is None or original is None or not patches.fits(
            "airbyte", "keeping what a failed read read", lambda: callable(original)):
        yield salvage
        return
    import orjson

    normalise = _normaliser()
    salvage.root.mkdir(parents=True, exist_ok=True)
    out = salvage.path.open("ab", buffering=1 << 20)

    def read_with_catalog(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for message in original(*args, **kwargs):
            _note(message, salvage, out, orjson.dumps, normalise)
            yield message
        out.flush()

    setattr(source, HOOK, read_with_catalog)
    salvage.active = True
    try:
        yield salvage
    finally:
        with suppress(AttributeError):
            delattr(source, HOOK)  # the instance attribute goes: the class's method is back
        out.close()


def _note(message: Any, salvage: Salvage, out: Any, dumps: Any, normalise: Any) -> None:
    kind = str(getattr(getattr(message, "type", None), "value", getattr(message, "type", "")))
    if kind == "RECORD":
        record = message.record
        if record.stream in salvage.streams:
            data = {normalise(k): v for k, v in (record.data or {}).items()}
            out.write(dumps([record.stream, data]) + b"\n")
            salvage.counts[record.stream] = salvage.counts.get(record.stream, 0) + 1
    elif kind == "TRACE":
        status = getattr(message.trace, "stream_status", None)
        if status is not None and str(getattr(status.status, "value", status.status)) == "COMPLETE":
            salvage.complete.add(status.stream_descriptor.name)
            out.flush()


def _normaliser() -> Any:
    """PyAirbyte's own column naming (the cache lower-cases keys), so kept records read like cached ones."""
    try:
        from airbyte._util.name_normalizers import LowerCaseNormalizer

        return LowerCaseNormalizer.normalize
    except ImportError:  # pragma: no cover - another PyAirbyte: plain lower case, as 0.71 does
        return str.lower
