"""The sync loop's plumbing without Confluence: backoff, the status file, stopping between batches,
and how a failed poll is read (a fake Ingester stands in for pull + index; the lock and the status
file are real files under tmp_path)."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ingest.config import load_settings
from ingest.errors import ConfigError, MassDeleteRefused, SourceError
from ingest.index.indexer import IndexReport
from ingest.pipeline import IngestReport
from ingest.records import PullReport
from ingest.storage.lock import is_held
from ingest.sync.backoff import classify, wait_after
from ingest.sync.health import FILENAME, read_health
from ingest.sync.loop import SyncLoop


def _report() -> IngestReport:
    return IngestReport(PullReport(seen=3, new=1, changed=0, unchanged=2, moved=0, deleted=0, restored=0,
                                   requests=4, bytes=100, seconds=0.1),
                        IndexReport(1, 0, 2, 0, 0, 0, 3, 0, 0, 3, 0.1), 0.2)


class FakeIngester:
    """Plays a script of outcomes, one a poll: "ok", an exception, or "batches" (calls progress 5 times,
    as the pull does after each committed batch)."""

    def __init__(self, script: list[Any], loop_ref: list[SyncLoop] | None = None) -> None:
        self.script, self.calls, self.batches = list(script), 0, 0
        self.loop_ref = loop_ref

    def run(self, *, spaces: Any = None, progress: Any = None, **_: Any) -> IngestReport:
        self.calls += 1
        step = self.script.pop(0) if self.script else "ok"
        if step == "batches":
            for i in range(5):
                self.batches += 1
                if i == 1 and self.loop_ref:
                    self.loop_ref[0].stop()  # a signal arrives while batch 2 commits
                progress(i, 5, "pages applied")
        elif isinstance(step, BaseException):
            raise step
        return _report()


def _loop(tmp_path: Path, script: list[Any], **sync: Any) -> SyncLoop:
    settings = load_settings(data={"dir": str(tmp_path)}, sync={"every": 0.01, "max_backoff": 0.05, **sync})
    ref: list[SyncLoop] = []
    loop = SyncLoop(settings, ingester=FakeIngester(script, ref))  # type: ignore[arg-type]
    ref.append(loop)
    return loop


def _stop_after(loop: SyncLoop, polls: int) -> list[tuple[int, str]]:
    """(consecutive failures, kind) of each poll; the loop is stopped after `polls` of them."""
    seen: list[tuple[int, str]] = []

    def on_poll(result: Any) -> None:
        seen.append((loop.health.consecutive_failures, result.kind))
        if len(seen) >= polls:
            loop.stop()

    loop.on_poll = on_poll
    return seen


def test_classify_and_wait_after() -> None:
    assert classify(SourceError("down", context={"endpoint": "GET /x -> 503"})) == "retry"
    assert classify(SourceError("refused", context={"endpoint": "GET /x -> 401"})) == "slow"
    assert classify(SourceError("tls", context={"kind": "tls"})) == "slow"
    assert classify(SourceError("gone", context={"kind": "refused"})) == "retry"  # an outage
    assert classify(MassDeleteRefused("no")) == "slow"
    assert classify(ConfigError("bad")) == "fatal"
    assert classify(RuntimeError("bug")) == "retry"
    assert [wait_after(n, "retry", 60, 600) for n in range(6)] == [60, 60, 120, 240, 480, 600]
    assert wait_after(1, "slow", 60, 600) == 600
    assert wait_after(3, "retry", 60, 10) == 60  # the cap is never below the period


def test_failures_back_off_and_a_success_resets(tmp_path: Path) -> None:
    down = SourceError("reading Confluence failed: GET /wiki/rest/api/content/search -> 503",
                       "check that the site is reachable", {"endpoint": "GET /x -> 503"})
    loop = _loop(tmp_path, ["ok", down, down, "ok"])
    seen = _stop_after(loop, 4)
    assert loop.run() == 0
    assert seen == [(0, "ok"), (1, "retry"), (2, "retry"), (0, "ok")]
    data = read_health(tmp_path)
    assert data is not None
    assert data["state"] == "stopped" and data["polls"] == 4 and data["polls_failed"] == 2
    assert data["last_report"]["pages"]["new"] == 1 and data["last_poll"]["result"] == "ok"
    assert data["lag_seconds"] is not None and data["alive"] is False


def test_the_status_file_tells_a_failure_with_its_hint(tmp_path: Path) -> None:
    down = SourceError("reading Confluence failed: GET /x -> 503", "check the site",
                       {"endpoint": "GET /x -> 503"})
    loop = _loop(tmp_path, ["ok", down])
    _stop_after(loop, 2)
    loop.run()
    data = json.loads((tmp_path / FILENAME).read_text())
    assert data["last_poll"]["result"] == "failed" and data["last_poll"]["retry"] == "retry"
    assert "503" in data["last_poll"]["error"] and data["last_poll"]["guidance"] == "check the site"
    assert data["consecutive_failures"] == 1 and data["last_ok_started"]  # the last good poll is kept


def test_a_stop_takes_effect_after_the_batch_in_flight(tmp_path: Path) -> None:
    loop = _loop(tmp_path, ["batches"])
    assert loop.run() == 0
    fake = loop.ingester
    assert fake.batches == 2, "the batch in flight finished; nothing after it started"  # type: ignore[attr-defined]
    data = read_health(tmp_path)
    assert data is not None and data["state"] == "stopped" and data["last_poll"]["result"] == "stopped"
    assert data["polls_ok"] == 0 and data["polls_failed"] == 0


def test_a_stop_between_polls_ends_the_wait_at_once(tmp_path: Path) -> None:
    loop = _loop(tmp_path, [], every=30, max_backoff=30)
    thread = threading.Thread(target=loop.run)
    thread.start()
    deadline = time.monotonic() + 10
    while loop.health.state != "waiting" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert is_held(tmp_path), "the loop holds the writer lock for its life"
    started = time.monotonic()
    loop.stop()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - started < 2
    assert not is_held(tmp_path)


def test_an_error_no_retry_fixes_ends_the_loop(tmp_path: Path) -> None:
    loop = _loop(tmp_path, [ConfigError("bad setting", "fix it")])
    with pytest.raises(ConfigError):
        loop.run()
    assert loop.exit_code == ConfigError.exit_code
    data = read_health(tmp_path)
    assert data is not None and data["state"] == "exited" and "bad setting" in data["exit_reason"]


def test_refused_credentials_end_it_at_the_first_poll_but_not_later(tmp_path: Path) -> None:
    refused = SourceError("GET /x -> 401", "check the token", {"endpoint": "GET /x -> 401"})
    with pytest.raises(SourceError):
        _loop(tmp_path / "a", [refused]).run()
    loop = _loop(tmp_path / "b", ["ok", refused, "ok"])
    seen = _stop_after(loop, 3)
    assert loop.run() == 0 and [kind for _, kind in seen] == ["ok", "slow", "ok"]


def test_an_unexpected_error_is_a_failed_poll_not_a_dead_loop(tmp_path: Path) -> None:
    loop = _loop(tmp_path, [RuntimeError("a bug"), "ok"])
    seen = _stop_after(loop, 2)
    assert loop.run() == 0 and [kind for _, kind in seen] == ["retry", "ok"]


def test_read_health_calls_a_killed_loop_dead(tmp_path: Path) -> None:
    assert read_health(tmp_path) is None
    record = {"pid": 2**22 + 12345, "state": "waiting", "every": 60,
              "last_ok_started": "2026-01-01T00:00:00Z", "next_poll": "2026-01-01T00:01:00Z"}
    (tmp_path / FILENAME).write_text(json.dumps(record))
    data = read_health(tmp_path, now=1767225600 + 90)  # 2026-01-01T00:01:30Z
    assert data is not None and data["state"] == "dead" and data["alive"] is False
    assert data["lag_seconds"] == 90 and data["oldest_unsynced"] == "2026-01-01T00:00:00Z"
    (tmp_path / FILENAME).write_text(json.dumps({**record, "pid": os.getpid()}))
    assert read_health(tmp_path)["state"] == "dead"  # type: ignore[index]  # alive, but no lock held
