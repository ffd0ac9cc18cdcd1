"""`kb serve --sync` over real HTTP (uvicorn on a free port, the emulator on loopback, real Chroma and
ledger; a slowed FakeEmbedder): searches keep answering while a poll writes, an edit is found after the
poll, /v1/status shows the loop, citations carry the page's updated_at, shutdown stops the loop."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from ingest.config import load_settings
from ingest.index.embed import FakeEmbedder
from ingest.records import embed_text
from ingest.storage.ledger import Ledger
from ingest.sync.health import read_health
from retrieval.http.app import create_app, running_server
from retrieval.http.engine import KBEngine, sync_loop
from tests.helpers import AUTH, KEY


class SlowEmbedder(FakeEmbedder):
    """Batches take a while, so a poll that embeds is still writing while the test searches."""

    def embed_documents(self, texts: Any) -> np.ndarray:
        time.sleep(0.5)
        return super().embed_documents(texts)


def _top(client: httpx.Client, query: str, mode: str = "hybrid") -> str | None:
    resp = client.post("/v1/search", json={"query": query, "k": 3, "mode": mode})
    assert resp.status_code == 200, resp.text
    hits = resp.json()["hits"]
    return hits[0]["page_id"] if hits else None


def test_serve_sync_answers_during_a_poll_and_shows_the_edit_after_it(emulator_factory: Any,
                                                                      tmp_path: Path) -> None:
    emu = emulator_factory(sample=False, pages=8, seed=4)
    settings = load_settings(confluence=emu.confluence_settings(), data={"dir": str(tmp_path / "kb")},
                             server={"api_keys": f"{KEY}=operator", "rate_limit_per_minute": 0},
                             sync={"every": 0.5})
    embedder = SlowEmbedder()
    engine = KBEngine.open(settings, embedder=embedder, local_writer=True)
    loop = sync_loop(settings, engine)
    with running_server(create_app(settings, engine=engine, sync=loop)) as url, \
            httpx.Client(base_url=url, headers=AUTH, timeout=60) as client:
        deadline = time.monotonic() + 120
        while loop.health.polls_ok < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        status = client.get("/v1/status").json()
        assert status["sync"]["mode"] == "serve" and status["sync"]["alive"], status["sync"]
        assert status["sync"]["polls_ok"] >= 1 and "freshness" in status
        with Ledger(settings.data_dir, readonly=True) as ledger:
            first = ledger.conn.execute("SELECT page_id, text FROM chunks WHERE idx = 0 "
                                        "ORDER BY page_id").fetchall()
        edited, probe_page = first[0]["page_id"], first[-1]["page_id"]
        probe = " ".join(first[-1]["text"].split()[:12])
        assert _top(client, probe) == probe_page

        emu.admin.edit(edited, body="<p>The servebadger escalation path starts with the duty manager.</p>")
        answered_while_polling, seen = 0, None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            polling = loop.health.state == "polling"
            assert _top(client, probe) == probe_page  # an untouched page keeps answering, mid-write too
            answered_while_polling += polling
            seen = _top(client, "servebadger escalation duty manager")
            if seen == edited:
                break
        assert seen == edited, "the edit never became searchable"
        assert answered_while_polling >= 1, "no search ran while a poll was writing"
        polls = loop.health.polls  # then a whole poll ends (its on_poll has run: the loop waits)
        while not (loop.health.polls > polls and loop.health.state == "waiting") \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        with Ledger(settings.data_dir, readonly=True) as ledger:  # the new chunk's exact embedded text:
            row = ledger.conn.execute("SELECT header, text FROM chunks WHERE page_id = ? AND idx = 0",
                                      (edited,)).fetchone()  # its own vector is nearest (the fake is crude)
        assert _top(client, embed_text(row["header"], row["text"]), mode="dense") == edited
        assert _top(client, "servebadger", mode="lexical") == edited

        question = "What does the servebadger escalation path start with?"
        answer = client.post("/v1/ask", json={"question": question})
        cited = [c for c in answer.json()["citations"] if c["chunk_id"].startswith(f"{edited}:")]
        assert cited and cited[0]["updated_at"] == emu.admin.get(edited)["updated"]
        chat = client.post("/v1/chat/completions", json={"model": "confluence-kb", "messages": [
            {"role": "user", "content": question}]})
        assert all(c["updated_at"] for c in chat.json()["citations"])
    after = read_health(settings.data_dir)
    assert after is not None and after["state"] == "stopped" and after["mode"] == "serve"
    engine.close()
