"""One writer per data dir: a second pull, ingest or reindex fails at once with a clear Busy error;
the lock dies with its process (kill -9 included); a thread re-enters its own lock, and another
thread of the same process is refused."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from ingest.config import load_settings
from ingest.index.embed import FakeEmbedder
from ingest.errors import Busy
from ingest.storage.lock import writer
from ingest.pipeline import reindex

ROOT = Path(__file__).resolve().parent.parent


def hold_in_another_process(data_dir: Path, what: str) -> subprocess.Popen[str]:
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from ingest.storage.lock import writer
        with writer(Path({str(data_dir)!r}), {what!r}):
            print("held", flush=True)
            time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_is_refused_and_the_lock_dies_with_its_holder(tmp_path: Path) -> None:
    settings = load_settings(data={"dir": str(tmp_path / "kb")})
    holder = hold_in_another_process(settings.data_dir, "ingest")
    try:
        with pytest.raises(Busy, match=rf"cannot reindex: another kb ingest \(pid {holder.pid} since") as err:
            reindex(settings, embedder=FakeEmbedder())
        assert "searches and answers keep working" in err.value.guidance
        assert err.value.exit_code == 7
        with pytest.raises(Busy, match="cannot pull: another kb ingest"):
            from ingest.pull.run import pull

            pull(settings)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    with writer(settings.data_dir, "reindex"):  # the kernel dropped the dead holder's lock
        pass


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
