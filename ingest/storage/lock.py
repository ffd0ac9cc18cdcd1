"""One writer per data dir: `kb pull`, `kb ingest` and `kb reindex` take an exclusive lock.

Two writers at once would race on the cursor, the active collection and the chunk rows (an ingest
upserting into the collection a reindex is about to drop). Readers (search, ask, serve, status)
take no lock. The lock is `flock` on `<data dir>/kb.lock`: the kernel drops it when its process
dies, kill -9 included, so there is no stale lock to clear. Re-entrant within the thread that
holds it (ingest holds it across its pull and its index); another thread of the same process is
refused like another process (two ingests from a script's threads race just the same).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingest.errors import Busy, ConfigError

FILENAME = "kb.lock"
_held: dict[Path, tuple[int, int]] = {}  # lock file -> (holding thread, depth)
_guard = threading.Lock()


@contextmanager
def writer(data_dir: Path, what: str) -> Iterator[None]:
    """Hold the data dir's writer lock for `what` ("ingest", "reindex", ...), or raise Busy."""
    path = (data_dir / FILENAME).resolve()
    me = threading.get_ident()
    with _guard:
        thread, depth = _held.get(path, (0, 0))
        reentered = depth > 0 and thread == me
        if reentered:
            _held[path] = (me, depth + 1)
    if reentered:
        try:
            yield
        finally:
            with _guard:
                _held[path] = (me, _held[path][1] - 1)
        return
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:  # a file where the dir should be, no write permission, a read-only disk
        raise ConfigError(f"cannot {what}: the data dir {data_dir} cannot be written ({exc.strerror})",
                          "set data.dir (KB_DATA__DIR) to a writable directory") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy(path, data_dir, what) from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "what": what, "since": int(time.time())}).encode())
        with _guard:
            _held[path] = (me, 1)
        try:
            yield
        finally:
            with _guard:
                _held.pop(path, None)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _busy(path: Path, data_dir: Path, what: str) -> Busy:
    try:
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        holder = {}
    who = f"kb {holder.get('what', 'pull/ingest/reindex')}"
    pid = holder.get("pid")
    since = holder.get("since")
    when = time.strftime(" since %H:%M:%S", time.localtime(since)) if isinstance(since, int) else ""
    return Busy(f"cannot {what}: another {who} (pid {pid or '?'}{when}) is writing {data_dir}",
                "wait for it to finish (or stop it) and run this again; searches and answers keep working "
                "meanwhile", {"pid": pid, "holder": holder.get("what")})


def is_held(data_dir: Path) -> bool:
    """True while some process (this one included) holds the data dir's writer lock. A run the ledger
    still calls 'running' while nobody holds the lock was killed: it is interrupted."""
    path = (Path(data_dir) / FILENAME).resolve()
    with _guard:
        if _held.get(path, (0, 0))[1] > 0:
            return True
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock taken here
    return False
