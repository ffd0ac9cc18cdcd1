"""The sync loop's status file, `<data dir>/sync.json`, written atomically after every poll (and as a
poll starts), and read by `kb status` / `/v1/status` (`read_health`, `freshness`).

Lag, defined honestly: a poll reads what changed since the cursor (minus the lookback), so once a
poll has succeeded, every change made before it STARTED is in the index. A change made after that
may not be. `oldest_unsynced` is therefore the start of the last successful poll (the oldest moment
whose changes may be missing), and `lag_seconds` is now minus that: about one period plus one poll's
time while polls succeed, growing through an outage.
"""

from __future__ import annotations

import calendar
import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FILENAME = "sync.json"
STATES = ("starting", "polling", "waiting", "stopping", "stopped", "exited")


def iso(ts: float | None) -> str | None:
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _epoch(text: Any) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return None


@dataclass
class Health:
    """What the loop knows about itself; `to_dict` is the file's JSON (times as ISO, UTC)."""

    mode: str  # "sync" (kb sync) or "serve" (kb serve --sync)
    every: float
    max_backoff: float
    pid: int = field(default_factory=os.getpid)
    started: float = field(default_factory=time.time)
    state: str = "starting"
    polls: int = 0
    polls_ok: int = 0
    polls_failed: int = 0
    consecutive_failures: int = 0
    poll_started: float | None = None  # the poll in progress
    last_poll: dict[str, Any] | None = None  # started, finished, seconds, result, error, guidance, kind
    last_ok_started: float | None = None
    last_ok_finished: float | None = None
    last_report: dict[str, Any] | None = None  # the last successful poll's summary
    next_poll: float | None = None
    wait_seconds: float | None = None
    exit_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("started", "poll_started", "last_ok_started", "last_ok_finished", "next_poll"):
            out[key] = iso(out[key])
        return out


def write_health(data_dir: Path, health: Health) -> None:
    """Replace the status file atomically (write beside it, fsync, rename): a reader never sees half."""
    path = Path(data_dir) / FILENAME
    tmp = path.with_name(f".{FILENAME}.{os.getpid()}.tmp")
    data = json.dumps(health.to_dict(), indent=1, sort_keys=True)
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def _alive(pid: Any, data_dir: Path) -> bool:
    """The process that wrote the file still runs and still holds the writer lock (a sync holds it for
    its whole life, so a reused pid without the lock is not it)."""
    from ingest.storage.lock import is_held

    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    return is_held(data_dir)


def read_health(data_dir: Path, now: float | None = None) -> dict[str, Any] | None:
    """The status file with what only a reader can add: `alive`, `lag_seconds`, `oldest_unsynced` and
    `overdue` (the next poll is late by more than a period: stuck, or killed). None without a file."""
    path = Path(data_dir) / FILENAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    now = time.time() if now is None else now
    alive = data.get("state") not in ("stopped", "exited") and _alive(data.get("pid"), data_dir)
    if not alive and data.get("state") not in ("stopped", "exited"):
        data["state"] = "dead"  # killed (kill -9, a crash, a reboot): the file was never closed
    data["alive"] = alive
    since = _epoch(data.get("last_ok_started"))
    data["oldest_unsynced"] = data.get("last_ok_started")
    data["lag_seconds"] = None if since is None else round(max(0.0, now - since), 1)
    due, every = _epoch(data.get("next_poll")), float(data.get("every") or 0)
    data["overdue"] = bool(alive and due is not None and data.get("state") == "waiting"
                           and now > due + max(every, 30.0))
    return data


def freshness(ledger: Any, health: dict[str, Any] | None, settings: Any) -> dict[str, Any]:
    """`kb status`'s freshness: per space the last successful poll and the last full sweep, the oldest
    unsynced change with the lag, and the pages that failed to index (with why)."""
    from ingest.storage.freshness import last_ok_run, page_titles, sweeps

    pull = last_ok_run(ledger, ("pull",))
    pulled_at = iso(pull["finished_at"]) if pull else None
    recorded = sweeps(ledger)
    every = settings.pull.sweep_every
    fallback: dict[str, str | None] = {"at": pulled_at, "reason": "the last successful pull" + (
        f" (sweep_every={every}: ids are swept every {every} pulls)" if every > 1 else " (each pull sweeps)")}
    spaces = {}
    for key in ledger.summary()["spaces"]:
        never: dict[str, str | None] = {"at": None, "reason": "never swept"}
        swept: dict[str, str | None] = dict(recorded.get(key) or {}) or (fallback if pulled_at else never)
        spaces[key] = {"last_poll": pulled_at, "last_sweep": swept["at"], "sweep_reason": swept["reason"]}
    indexed = last_ok_run(ledger, ("ingest", "index"))
    failures = list((indexed or {}).get("report", {}).get("failures", []))
    titles = page_titles(ledger, [str(f.get("page_id", "")) for f in failures])
    failed = [{"page_id": f.get("page_id"), "title": titles.get(str(f.get("page_id")), ("", ""))[0],
               "space_key": titles.get(str(f.get("page_id")), ("", ""))[1], "error": f.get("error", "")}
              for f in failures]
    oldest = (health or {}).get("oldest_unsynced")
    lag = (health or {}).get("lag_seconds")
    if health is None and pull is not None:  # no sync loop: the last pull's start bounds what is missing
        oldest = iso(pull["started_at"])
        lag = round(max(0.0, time.time() - float(pull["started_at"])), 1)
    return {"spaces": spaces, "oldest_unsynced": oldest, "lag_seconds": lag, "failed_pages": failed,
            "last_pull": pulled_at}


def clear_stale(data_dir: Path) -> None:
    """Remove a leftover temporary file of a writer that died mid-write (never the status file)."""
    for tmp in Path(data_dir).glob(f".{FILENAME}.*.tmp"):
        with contextlib.suppress(OSError):
            tmp.unlink()
