"""`kill -9` in the middle of an ingest, then ingest again: the index equals a clean ingest's."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ingest.index.embed import FakeEmbedder
from ingest.pipeline import ingest
from tests.helpers import ROOT, kb_settings, snapshot

CHILD = """
import sys, time
from ingest.config import load_settings
from ingest.index.embed import FakeEmbedder
from ingest.pipeline import ingest

class Slow(FakeEmbedder):
    def embed_documents(self, texts):
        time.sleep(0.15)
        return super().embed_documents(texts)

ingest(load_settings(), embedder=Slow())
print("finished", flush=True)
"""


def _chunks(data_dir: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{data_dir / 'ledger.sqlite3'}?mode=ro", uri=True, timeout=5)
        try:
            return int(conn.execute("SELECT count(*) FROM chunks").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_kill_9_mid_ingest_then_ingest_equals_a_clean_ingest(emulator_factory: Any, tmp_path: Path) -> None:
    emu = emulator_factory(sample=False, pages=40, seed=11)
    crashed = tmp_path / "crashed"
    conf = emu.confluence_settings()
    env = {**os.environ, "KB_DATA__DIR": str(crashed), "KB_EMBED__BATCH_SIZE": "4",
           "KB_CONFLUENCE__DOMAIN_NAME": conf["domain_name"], "KB_CONFLUENCE__EMAIL": conf["email"],
           "KB_CONFLUENCE__API_TOKEN": conf["api_token"], "KB_CONFLUENCE__CA_BUNDLE": conf["ca_bundle"],
           "KB_CONFLUENCE__SCHEME": conf["scheme"], "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD], cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 240
    while _chunks(crashed) == 0 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # into the next group: embedding, Chroma writes or the ledger transaction
    if child.poll() is not None:
        out = child.stdout.read().decode(errors="replace") if child.stdout else ""
        pytest.fail(f"the child ended before the kill (rc={child.returncode}): {out[-2000:]}")
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    if child.stdout:
        child.stdout.close()
    partial = _chunks(crashed)
    settings = kb_settings(emu, crashed)
    again = ingest(settings, embedder=FakeEmbedder())
    assert again.index.pages_new + again.index.pages_changed > 0, "the kill came after the last page"
    clean = kb_settings(emu, tmp_path / "clean")
    ingest(clean, embedder=FakeEmbedder())
    mine, theirs = snapshot(settings, FakeEmbedder()), snapshot(clean, FakeEmbedder())
    assert 0 < partial < len(theirs["rows"])
    assert mine["rows"] == theirs["rows"]
    assert mine["chroma"].keys() == theirs["chroma"].keys()
    assert mine["chroma"] == theirs["chroma"]
