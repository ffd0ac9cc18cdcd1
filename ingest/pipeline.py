"""Composition only: `ingest()` = pull, then index; `reindex()` = rebuild beside, then switch.

The stages live in their modules (sync, clean, chunk, embed, store, index, staging); this module
opens the ledger and the store, wires the stages together and records the run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest import heap
from ingest.config import Settings, as_settings
from ingest.index.indexer import Indexer, IndexReport
from ingest.index.rebuild import ReindexReport
from ingest.records import PullReport
from ingest.storage.lock import writer

Progress = Callable[[int, int | None, str], None]


@dataclass(frozen=True)
class IngestReport:
    """One `kb ingest`: the pull's report, the index's report, the whole run's time."""

    pull: PullReport
    index: IndexReport
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        index = self.index.to_dict()
        secs = self.seconds
        return {**index, "seconds": round(secs, 3),
                "pages/s": round(self.index.pages_seen / secs, 1) if secs > 0 else 0.0,
                "chunks/s": round(self.index.chunks_written / secs, 1) if secs > 0 else 0.0,
                "index_seconds": index["seconds"], "pull": self.pull.to_dict()}


class _Background:
    """Load the embedder on a thread while the pull runs (model load overlaps the network)."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._result: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), name="kb-load-embedder", daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self._result = fn()
        except BaseException as exc:
            self._error = exc

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result


class Ingester:
    """`ingest()` again and again in one process (`kb sync`, `kb serve --sync`): the embedder is loaded
    once (on a thread, overlapping the first run's pull, as `ingest()` does) and kept between runs.
    Each run takes the writer lock (re-entrant: a sync loop holds it for its whole life).

    The first run's index pass looks at every page, as `kb ingest` does. Later runs hand the indexer
    only the pages touched since the last pass of this process, as the ledger's triggers record them
    (`ingest.storage.touched`: a change of a page row's indexed columns or of its comments, not a
    sweep's `last_seen_run`), plus the pages that failed to index; so a no-change poll reads no page row.
    Every FULL_PASS_EVERY-th run, a change of the known user names, a pass over spaces the last pass did
    not cover, a failed or stopped last pass, `full` and an emptied store look at all.

    `settle_heap` (the sync loop's): after each run whose index pass looked at every page, collect
    garbage once and freeze what survives (`gc.freeze`), so the collector's full passes skip the
    long-lived heap (model, store, caches). Without it, one quiet poll in six paid a 0.64 CPU s
    collection at 20,000 pages (bench/poll.py --sync)."""

    FULL_PASS_EVERY = 60

    def __init__(self, settings: Settings, *, embedder: Any = None, settle_heap: bool = False) -> None:
        self.settings = settings
        self.settle_heap = settle_heap
        self._embedder = embedder
        self._loading: _Background | None = None
        self._mark: int | None = None  # the newest touch as of the end of the last index pass
        self._scope: frozenset[str] | None = None  # the spaces that pass covered (None: all)
        self._users = ""
        self._retry: set[str] = set()  # pages that failed to index: looked at again each run
        self._runs = 0

    @property
    def embedder(self) -> Any:
        """The loaded embedder (waits for a load in progress; loads it now if no run has yet)."""
        if self._embedder is None:
            self._embedder = self._load().result()
        return self._embedder

    def _load(self) -> _Background:
        if self._embedder is not None:
            return _Background(lambda: self._embedder)
        if self._loading is None:
            from ingest.index.embed import load_embedder

            self._loading = _Background(lambda: load_embedder(self.settings))
        return self._loading

    def run(self, *, spaces: Sequence[str] | None = None, full: bool = False, allow_mass_delete: bool = False,
            progress: Progress | None = None, source: Any = None) -> IngestReport:
        """One ingest: pull Confluence into the ledger, then bring the index up to it."""
        from ingest.pull.run import pull

        settings = self.settings
        started = time.perf_counter()
        with writer(settings.data_dir, "ingest"):
            loading = self._load()
            pull_report = pull(settings, spaces=spaces, full=full, allow_mass_delete=allow_mass_delete,
                               source=source, progress=_phase(progress, "pull"))
            self._embedder = loading.result()
            only = self._changed(spaces, full)
            self._mark = None  # a failed or stopped pass is redone whole
            index_report = index(settings, spaces=spaces, full=full, embedder=self._embedder,
                                 progress=progress, run_kind="ingest", only=only)
            self._remember(spaces, index_report)
        if only is None and self.settle_heap:
            heap.settle()
        return IngestReport(pull_report, index_report, time.perf_counter() - started)

    def _changed(self, spaces: Sequence[str] | None, full: bool) -> set[str] | None:
        """The page ids the index pass must look at, or None for every page."""
        from ingest.storage.ledger import Ledger
        from ingest.storage.touched import LedgerTouched

        self._runs += 1
        mark, scope = self._mark, self._scope
        if mark is None or full or self._runs % self.FULL_PASS_EVERY == 1:
            return None
        if scope is not None and (not spaces or not scope.issuperset(spaces)):
            return None  # the last pass did not look at (all of) these spaces
        with Ledger(self.settings.data_dir, readonly=True) as ledger:
            if _users_digest(ledger) != self._users:
                return None
            return LedgerTouched(ledger).since(mark, spaces) | self._retry

    def _remember(self, spaces: Sequence[str] | None, report: IndexReport) -> None:
        """What this pass has seen: the newest touch now (this process holds the writer lock, so every
        touch up to it is this pass's pull or index step), the spaces it covered, the user names."""
        from ingest.storage.ledger import Ledger
        from ingest.storage.touched import LedgerTouched

        with Ledger(self.settings.data_dir, readonly=True) as ledger:
            self._mark = LedgerTouched(ledger).newest()
            self._users = _users_digest(ledger)
        self._scope = frozenset(spaces) if spaces else None
        self._retry = {pid for pid, _ in report.failures}


def _users_digest(ledger: Any) -> str:
    """A digest of the ledger's user names (a mention's display name is part of a page's fingerprint)."""
    import hashlib

    return hashlib.sha256((ledger.get_meta("users") or "").encode("utf-8")).hexdigest()


def ingest(settings: Settings | str | None = None, *, spaces: Sequence[str] | None = None, full: bool = False,
           allow_mass_delete: bool = False, embedder: Any = None, progress: Progress | None = None,
           source: Any = None) -> IngestReport:
    """Pull Confluence into the ledger, then bring the index up to it."""
    return Ingester(as_settings(settings), embedder=embedder).run(
        spaces=spaces, full=full, allow_mass_delete=allow_mass_delete, progress=progress, source=source)


def index(settings: Settings | str | None = None, *, spaces: Sequence[str] | None = None, full: bool = False,
          embedder: Any = None, progress: Progress | None = None, run_kind: str = "index",
          only: Collection[str] | None = None) -> IndexReport:
    """Bring the active collection and the ledger's chunks up to the ledger's pages (no pull). `only`:
    look at these pages alone (the others are known to be unchanged; tombstones are always removed)."""
    from ingest.index.embed import load_embedder
    from ingest.index.gate import open_store
    from ingest.storage.chunks import LedgerChunks
    from ingest.storage.ledger import Ledger

    settings = as_settings(settings)
    embedder = embedder or load_embedder(settings)
    with writer(settings.data_dir, run_kind), Ledger(settings.data_dir) as ledger, \
            Ledger(settings.data_dir) as reader:
        store = open_store(settings, embedder)
        # An empty collection beside a ledger that has chunk rows (the Chroma dir was lost): redo all.
        full = full or (LedgerChunks(ledger).has_rows() and store.count() == 0)
        run_id = ledger.start_run(run_kind)
        try:
            indexer = Indexer(settings, ledger, store, embedder)
            if only is None or full:
                only = None
                pages, total = reader.iter_pages(spaces=spaces), ledger.count_pages("current", spaces)
            else:
                pages, total = _pages_of(reader, sorted(only), spaces), len(only)
            report = indexer.run(pages, full=full, spaces=spaces, progress=_phase(progress, "index"),
                                 total=total, only=only)
        except BaseException as exc:
            ledger.finish_run(run_id, _ended(exc), {"error": f"{type(exc).__name__}: {exc}"})
            raise
        ledger.finish_run(run_id, "ok", report.to_dict())
    return report


def _pages_of(reader: Any, ids: Sequence[str], spaces: Sequence[str] | None) -> Iterator[Any]:
    """The current pages among `ids` (in `spaces`, when given), read one by one."""
    for page_id in ids:
        page = reader.get_page(page_id)
        if page is not None and page.status == "current" and (not spaces or page.space_key in spaces):
            yield page


def _ended(exc: BaseException) -> str:
    """A run's status after `exc`: 'stopped' when a stop was asked for (between batches), else 'failed'."""
    from ingest.errors import Stopped

    return "stopped" if isinstance(exc, Stopped) else "failed"


def reindex(settings: Settings | str | None = None, *, embedder: Any = None,
            progress: Progress | None = None) -> ReindexReport:
    """Rebuild the index from the ledger into a new collection and switch to it (no Confluence call)."""
    from ingest.index.embed import load_embedder

    settings = as_settings(settings)
    with writer(settings.data_dir, "reindex"):
        return _reindex(settings, embedder or load_embedder(settings), progress)


def _reindex(settings: Settings, embedder: Any, progress: Progress | None) -> ReindexReport:
    from ingest.index.rebuild import rebuild
    from ingest.storage.ledger import Ledger

    with Ledger(settings.data_dir) as ledger, Ledger(settings.data_dir) as reader:
        run_id = ledger.start_run("reindex")
        try:
            report = rebuild(settings, ledger, reader, embedder, progress=_phase(progress, "reindex"))
        except BaseException as exc:
            ledger.finish_run(run_id, "failed", {"error": f"{type(exc).__name__}: {exc}"})
            raise
        ledger.finish_run(run_id, "ok", report.to_dict())
    return report


def status(settings: Settings | str | None = None) -> dict[str, Any]:
    """What the knowledge base holds: counts, spaces, the last run, the cursor, the model, the collection;
    the sync loop's state (`sync`: its status file, None when no loop ever ran) and `freshness`."""
    from ingest.storage.access import LedgerAccess
    from ingest.storage.ledger import Ledger
    from ingest.storage.vectors import active_collection
    from ingest.sync.health import freshness, read_health

    settings = as_settings(settings)
    path = settings.data_dir / Ledger.FILENAME
    sync = read_health(settings.data_dir)  # the sync loop's status file (kb sync, kb serve --sync)
    if not path.is_file():
        return {"data_dir": str(settings.data_dir), "ready": False, "pages": 0, "chunks": 0, "spaces": {},
                "last_run": None, "cursor": {}, "model": settings.embed.model, "active_collection": None,
                "sync": sync, "freshness": None}
    with Ledger(settings.data_dir) as ledger:
        counts = ledger.summary()
        return {
            "data_dir": str(settings.data_dir), "ready": counts["chunks"] > 0,
            "pages": counts["pages"], "pages_indexed": counts["pages_indexed"],
            "tombstones": counts["tombstones"], "chunks": counts["chunks"], "spaces": counts["spaces"],
            "cursor": counts["cursor"], "last_run": _run_summary(ledger.last_run(), settings.data_dir),
            "access": LedgerAccess(ledger).summary(),
            "model": settings.embed.model,
            "active_collection": active_collection(settings),
            "chroma": (f"{settings.chroma.host}:{settings.chroma.port}" if settings.chroma.host
                       else "embedded"),
            "sync": sync, "freshness": freshness(ledger, sync, settings),
        }


def _run_summary(run: Mapping[str, Any] | None, data_dir: Path) -> dict[str, Any] | None:
    """The last run; one still 'running' while no process holds the writer lock was killed."""
    from ingest.storage.lock import is_held

    if run is None:
        return None
    state = run["status"]
    if state == "running" and not is_held(data_dir):
        state = "interrupted"
    return {"id": run["id"], "kind": run["kind"], "status": state,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(run["started_at"])),
            "seconds": round((run["finished_at"] or time.time()) - run["started_at"], 3),
            "report": run["report"]}


def _phase(progress: Progress | None, name: str) -> Progress | None:
    """Prefix a stage's progress messages with its phase ("pull: reading pages")."""
    if progress is None:
        return None
    return lambda done, total, what: progress(done, total, f"{name}: {what}")
