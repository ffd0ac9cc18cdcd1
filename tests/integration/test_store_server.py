"""Server mode: the same Store, index and reindex against a real `chroma run` on a free loopback port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingest.config import Settings, load_settings
from ingest.storage.vectors import active_collection, list_collections, make_client
from tests.helpers import KB, ROOT, page, rebuild_kb


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def chroma_server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """`chroma run --path TMP --port FREE`, stopped after the test. Skipped only when the CLI is not
    installed; installed but not starting is a failure (a broken server mode must not pass as a skip)."""
    exe = ROOT / ".venv" / "bin" / "chroma"
    exe_path = str(exe) if exe.exists() else shutil.which("chroma")
    if not exe_path:
        pytest.skip("the `chroma` CLI is not installed (.venv/bin/chroma), so no server to test against")
    port = _free_port()
    log = (tmp_path / "chroma.log").open("wb")
    proc = subprocess.Popen([exe_path, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"`chroma run` is installed but did not start (rc={proc.poll()}): "
                            f"{(tmp_path / 'chroma.log').read_text(errors='replace')[-500:]}")
            time.sleep(0.2)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture()
def server_settings(tmp_path: Path, chroma_server: tuple[str, int]) -> Settings:
    host, port = chroma_server
    return load_settings(data={"dir": str(tmp_path / "kb")}, chroma={"host": host, "port": port})


def test_index_and_reindex_against_a_chroma_server(server_settings: Settings) -> None:

    kb = KB(server_settings)
    kb.put(page("1", ["server side alpha", "server side beta"]), page("2", ["gamma"]))
    first = kb.run()
    assert first.chunks_written == 3 and kb.store.count() == 3
    hits = kb.store.query(kb.embedder.embed_query("Page 1\nserver side alpha"), 3)  # title + text
    found = {h.id: h for h in hits}
    assert found["1:0"].distance == pytest.approx(0.0, abs=1e-4), [(h.id, h.distance) for h in hits]
    assert found["1:0"].metadata["title"] == "Page 1"
    kb.put(page("2", ["gamma"], status="deleted"))
    assert kb.run().pages_deleted == 1 and kb.store.count() == 2
    report = rebuild_kb(kb, kb.embedder)
    client = make_client(server_settings)
    assert list_collections(client) == [report.new_collection] == [active_collection(server_settings)]
    assert kb.store.count() == 2 and report.index.chunks_embedded == 0
    assert not (Path(server_settings.data_dir) / "chroma").exists()  # nothing embedded on disk
