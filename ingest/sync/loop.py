"""The sync loop: `kb sync` (on the main thread) and `kb serve --sync` (on a background thread).

One writer for the whole life of the loop: it takes the data dir's writer lock once (a second
`kb sync`, `kb ingest` or `kb reindex` is refused, naming it) and polls every `[sync] every`. A poll is
exactly `kb ingest` (`ingest.pipeline.Ingester.run`: pull, then index what changed); the embedder is
loaded at the first poll and kept, so later polls pay no model load.

Stopping: `stop()` (a signal handler calls it) sets a flag. The pull and the indexer call a progress
callback after each batch they commit; the loop's callback raises `Stopped` once the flag is set, so
the batch in flight commits and nothing after it starts (the pull's cursor is committed only at the
end of a run, so the next run redoes the rest). A stop between polls ends the wait at once. A read
from Confluence in progress (one PyAirbyte read into its cache, before anything is applied) runs to
its end first: a second signal exits at once (`install_signals`), which is as safe as `kill -9`.

Failures never end the loop unless no retry can help (see `ingest.sync.backoff`); each poll's result,
the lag and the errors are in `<data dir>/sync.json` (`ingest.sync.health`).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ingest.config import Settings
from ingest.durations import format_duration
from ingest.errors import KBError, Stopped
from ingest.pipeline import Ingester, IngestReport, Progress
from ingest.storage.lock import writer
from ingest.sync.backoff import classify, describe, wait_after
from ingest.sync.health import Health, clear_stale, iso, write_health

log = logging.getLogger("kb.sync")


@dataclass(frozen=True)
class PollResult:
    """One poll: its report (None when it failed or stopped), its error, how the loop reads it."""

    report: IngestReport | None
    error: BaseException | None
    kind: str  # "ok", "stopped", or backoff.classify's "retry" / "slow" / "fatal"
    seconds: float
    cpu_seconds: float = 0.0  # this process's CPU time during the poll (every thread: torch's too)


def summary(report: IngestReport) -> dict[str, Any]:
    """What the status file keeps of a poll's report: the counts, not the per-page lists."""
    data = report.to_dict()
    pull = {k: v for k, v in data["pull"].items() if k not in ("access", "work")}
    return {"seconds": data["seconds"], "pages": data["pages"], "chunks": data["chunks"],
            "failed": len(data.get("failures", [])), "warnings": len(data.get("warnings", [])), "pull": pull}


class SyncLoop:
    """Poll until stopped (see the module docstring). `on_poll(result)` runs after every poll."""

    def __init__(self, settings: Settings, *, embedder: Any = None, mode: str = "sync",
                 spaces: Sequence[str] | None = None, on_poll: Callable[[PollResult], None] | None = None,
                 progress: Progress | None = None, ingester: Ingester | None = None) -> None:
        self.settings = settings
        self.ingester = ingester or Ingester(settings, embedder=embedder, settle_heap=True)
        self.spaces = list(spaces) if spaces else None
        self.on_poll = on_poll
        self.progress = progress
        self.health = Health(mode, settings.sync.every, settings.sync.max_backoff)
        self.exit_code = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- stopping --------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop after the batch in flight (or at once, between polls). Safe from a signal handler."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _between_batches(self, done: int, total: int | None, what: str) -> None:
        """The progress callback handed to each poll: where a stop takes effect."""
        if self._stop.is_set():
            raise Stopped("stopped on request, after the batch in flight",
                          "the next `kb sync` (or `kb ingest`) redoes what this run did not finish")
        if self.progress is not None:
            self.progress(done, total, what)

    # -- the loop --------------------------------------------------------------------------------
    def run(self, *, once: bool = False) -> int:
        """Poll until stopped (`once`: one poll); 0 after a clean stop. An error no retry can help (or
        with `once`, any failure) is raised after the status file says so: the CLI prints it and exits
        with its code."""
        data_dir = self.settings.data_dir
        with writer(data_dir, "sync"):
            clear_stale(data_dir)
            self._write()
            failed: PollResult | None = None
            try:
                while not self._stop.is_set():
                    result = self.poll()
                    if result.kind == "fatal" or (result.kind == "slow" and self.health.polls_ok == 0) or (
                            once and result.kind not in ("ok", "stopped")):
                        failed = result
                        break
                    if self._stop.is_set() or once:
                        break
                    self._wait(result)
            finally:
                self._ended(failed)
        if failed is not None and isinstance(failed.error, BaseException):
            raise failed.error
        return self.exit_code

    def _wait(self, result: PollResult) -> None:
        h = self.health
        wait = wait_after(h.consecutive_failures, result.kind, h.every, h.max_backoff)
        if result.kind == "ok":  # a period from the poll's start; failures wait from their end
            wait = max(0.0, wait - result.seconds)
        h.state, h.wait_seconds, h.next_poll = "waiting", round(wait, 3), time.time() + wait
        self._write()
        self._stop.wait(wait)

    def _ended(self, failed: PollResult | None) -> None:
        h = self.health
        h.next_poll = h.wait_seconds = None
        if failed is None:
            h.state, h.exit_reason = "stopped", "stopped on request"
        else:
            err = failed.error
            self.exit_code = err.exit_code if isinstance(err, KBError) else 1
            h.state = "exited"
            h.exit_reason = (f"{describe(err)['error']}: no retry can fix this" if err is not None
                             else "exited")
            log.error("sync: exiting: %s", h.exit_reason)
        self._write()

    def poll(self) -> PollResult:
        """One poll (= `kb ingest`); never raises for a failed poll: the result says how it ended."""
        h = self.health
        started = time.time()
        h.state, h.poll_started = "polling", started
        self._write()
        t0, cpu0 = time.perf_counter(), time.process_time()
        report: IngestReport | None = None
        error: BaseException | None = None
        try:
            report = self.ingester.run(spaces=self.spaces, progress=self._between_batches)
            kind = "ok"
        except Stopped as exc:
            error, kind = exc, "stopped"
        except Exception as exc:  # a failed poll is recorded; backoff decides what comes next
            error, kind = exc, classify(exc)
            if not isinstance(exc, KBError):
                log.error("sync: poll %d failed unexpectedly", h.polls + 1, exc_info=exc)
        result = PollResult(report, error, kind, time.perf_counter() - t0, time.process_time() - cpu0)
        self._record(result, started)
        if self.on_poll is not None:
            try:
                self.on_poll(result)
            except Exception:  # a listener's bug must not stop the sync
                log.exception("sync: the on_poll callback failed")
        return result

    def _record(self, result: PollResult, started: float) -> None:
        h = self.health
        h.polls += 1
        h.poll_started = None
        last: dict[str, Any] = {"started": iso(started), "finished": iso(time.time()),
                                "seconds": round(result.seconds, 3),
                                "cpu_seconds": round(result.cpu_seconds, 3), "result": result.kind}
        if result.report is not None:
            h.polls_ok += 1
            h.consecutive_failures = 0
            h.last_ok_started, h.last_ok_finished = started, time.time()
            h.last_report = summary(result.report)
            last["result"] = "ok"
            p, c = h.last_report["pages"], h.last_report["chunks"]
            log.info("sync: poll %d ok in %.1f s: pages new=%s changed=%s deleted=%s failed=%s; chunks "
                     "embedded=%s", h.polls, result.seconds, p["new"], p["changed"], p["deleted"],
                     p["failed"], c["embedded"])
        elif result.kind == "stopped":
            log.info("sync: poll %d stopped after the batch in flight", h.polls)
        else:
            h.polls_failed += 1
            h.consecutive_failures += 1
            last.update(describe(result.error) if result.error else {})
            last["result"] = "failed"
            last["retry"] = result.kind
            wait = wait_after(h.consecutive_failures, result.kind, h.every, h.max_backoff)
            log.warning("sync: poll %d failed (%d in a row): %s%s; next try in %s", h.polls,
                        h.consecutive_failures, last.get("error"),
                        f" — {last['guidance']}" if last.get("guidance") else "", format_duration(wait))
        h.last_poll = last
        self._write()

    def _write(self) -> None:
        try:
            write_health(self.settings.data_dir, self.health)
        except OSError as exc:  # a full disk must not stop the sync; the log says it
            log.warning("sync: cannot write the status file: %s", exc)

    # -- on a thread (kb serve --sync) -----------------------------------------------------------
    def start(self) -> threading.Thread:
        """Run the loop on a daemon thread (the server's); errors are logged, the status file shows them."""
        self._thread = threading.Thread(target=self._run_logged, name="kb-sync", daemon=True)
        self._thread.start()
        return self._thread

    def _run_logged(self) -> None:
        try:
            self.run()
        except KBError as err:
            log.error("sync stopped: %s", err)
        except Exception:
            log.exception("sync stopped unexpectedly")

    def close(self, timeout: float | None = None) -> None:
        """Stop and wait for the thread (the batch in flight commits first)."""
        self.stop()
        if self._thread is not None:
            self._thread.join(timeout)


def install_signals(loop: SyncLoop, say: Callable[[str], None]) -> Callable[[], None]:
    """SIGTERM and SIGINT stop `loop` after the batch in flight; a second one exits at once (exit code
    128 + the signal's number: what the writes survive is what `kill -9` leaves). Returns a function that
    puts the previous handlers back. Call from the main thread."""

    def handler(signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if loop.stopping:
            say(f"{name} again: exiting now (the next run redoes what was in flight)")
            os._exit(128 + signum)
        say(f"{name}: stopping after the batch in flight (send it again to exit at once)")
        loop.stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
