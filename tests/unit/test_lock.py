"""One writer per data dir: a second pull, ingest or reindex fails at once with a clear Busy error;
the lock dies with its process (kill -9 included); a thread re-enters its own lock, and another
thread of the same process is refused."""

from __future__ import annotations

import threading
from pathlib import Path

from ingest.errors import Busy
from ingest.storage.lock import writer


def test_the_lock_is_reentrant_within_a_process(tmp_path: Path) -> None:
    with writer(tmp_path, "ingest"), writer(tmp_path, "pull"), writer(tmp_path, "index"):
        pass
    with writer(tmp_path, "reindex"):
        pass


def test_another_thread_of_the_same_process_is_refused(tmp_path: Path) -> None:
    outcome: list[object] = []

    def second_writer() -> None:
        try:
            with writer(tmp_path, "pull"):
                outcome.append("entered")
        except Busy as exc:
            outcome.append(exc)

    with writer(tmp_path, "ingest"):
        thread = threading.Thread(target=second_writer)
        thread.start()
        thread.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], Busy), outcome
    assert "cannot pull: another kb ingest" in str(outcome[0])
    second_writer()  # the holder let go: the lock is free for any thread
    assert outcome[-1] == "entered"
