"""The writer lock across processes: a second writer is refused, and the lock dies with its holder
(kill -9)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ingest.config import load_settings
from ingest.errors import Busy
from ingest.index.embed import FakeEmbedder
from ingest.pipeline import reindex
from ingest.storage.lock import writer
from tests.helpers import ROOT


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
