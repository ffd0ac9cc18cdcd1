"""`kb serve` keeps answering, correctly, while an ingest and then a reindex run in another process.

The real pieces: the emulator (generated pages) on loopback, PyAirbyte pull, clean, chunk, Chroma and
the ledger; FakeEmbedder in both processes to keep it cheap. The server process never restarts: it sees
the new pages after the ingest and follows the reindex's switch of the active collection.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.config import load_settings
from ingest.index.embed import FakeEmbedder
from ingest.storage.ledger import Ledger
from retrieval.http.app import create_app, running_server
from retrieval.http.engine import KBEngine
from tests.helpers import AUTH, KEY, ROOT

PAGES, EDITED, CREATED = 40, 15, 15
WORKER = """
import os, sys
from ingest.index.embed import FakeEmbedder
from ingest.config import load_settings
from ingest import pipeline
settings = load_settings()
if sys.argv[1] == "ingest":
    pipeline.ingest(settings, embedder=FakeEmbedder())
else:
    pipeline.reindex(settings, embedder=FakeEmbedder())
print("worker done", sys.argv[1])
"""


def _worker(kind: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", WORKER, kind], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _probes(settings: Any, skip: set[str]) -> dict[str, str]:
    """Queries (a chunk's opening words) -> their page id, for pages the test leaves alone."""
    with Ledger(settings.data_dir, readonly=True) as ledger:
        rows = ledger.conn.execute("SELECT page_id, text FROM chunks WHERE idx = 1 ORDER BY id").fetchall()
    probes = {" ".join(r["text"].split()[:14]): r["page_id"] for r in rows if r["page_id"] not in skip}
    return dict(list(probes.items())[:30])


def _hammer(url: str, probes: dict[str, str], proc: subprocess.Popen[str]) -> tuple[int, list[str]]:
    """Search and ask while `proc` runs; (requests made during it, problems seen)."""
    done, problems = 0, []
    with httpx.Client(base_url=url, headers=AUTH, timeout=60) as client:
        while proc.poll() is None:
            for query, page_id in probes.items():
                resp = client.post("/v1/search", json={"query": query, "k": 3})
                top = [h["page_id"] for h in resp.json().get("hits", [])] if resp.status_code == 200 else []
                if page_id not in top:
                    problems.append(f"{resp.status_code} {resp.text[:200]} for {page_id}")
                done += 1
            ask = client.post("/v1/ask", json={"question": next(iter(probes))})
            if ask.status_code != 200 or not ask.json()["hits"]:
                problems.append(f"ask: {ask.status_code} {ask.text[:200]}")
            done += 1
    return done, problems


@pytest.mark.slow
def test_searches_stay_correct_during_ingest_and_reindex_in_another_process(tmp_path: Path) -> None:
    from emulator.testing import running_emulator

    with running_emulator(sample=False, pages=PAGES, seed=3) as emu:
        conf = emu.confluence_settings()
        settings = load_settings(confluence=conf, data={"dir": str(tmp_path / "kb")},
                                 server={"api_keys": f"{KEY}=operator", "rate_limit_per_minute": 0})
        env = {**os.environ, "KB_DATA__DIR": str(settings.data_dir), "KB_CONFIG": "",
               **{f"KB_CONFLUENCE__{k.upper()}": str(v) for k, v in conf.items()}}
        first = _worker("ingest", env)  # a subprocess: an in-process pull keeps the DuckDB cache locked
        assert first.wait(timeout=300) == 0, first.communicate()[0][-2000:]
        with Ledger(settings.data_dir, readonly=True) as ledger:
            ids = [r[0] for r in ledger.conn.execute("SELECT id FROM pages ORDER BY id")]
        edited = set(ids[:EDITED])
        candidates = _probes(settings, edited)

        emu.admin.clock(advance_minutes=10)
        for pid in edited:
            emu.admin.edit(pid, body="<p>" + " ".join(["rewritten paragraph about rotation"] * 40) + "</p>")
        for i in range(CREATED):
            emu.admin.create({"type": "page", "space": "ENG", "title": f"Zebracorn runbook {i}",
                              "body": f"<p>The zebracorn quasar{i} procedure restarts the flux "
                                      "capacitor.</p>"})

        engine = KBEngine.open(settings, embedder=FakeEmbedder())
        with running_server(create_app(settings, engine=engine)) as url:
            probes = {}  # generated text repeats across pages: keep the queries that find their page first
            for query, page_id in candidates.items():
                hits = httpx.post(f"{url}/v1/search", headers=AUTH,
                                  json={"query": query, "k": 3}).json()["hits"]
                if hits and hits[0]["page_id"] == page_id and len(probes) < 6:
                    probes[query] = page_id
            assert len(probes) >= 3, f"only {len(probes)} of {len(candidates)} probes find their page"
            before = httpx.get(f"{url}/v1/status", headers=AUTH).json()["active_collection"]

            for kind in ("ingest", "reindex"):
                proc = _worker(kind, env)
                started = time.monotonic()
                done, problems = _hammer(url, probes, proc)
                output = proc.communicate(timeout=300)[0]
                assert proc.returncode == 0, output[-2000:]
                assert problems == [], problems[:5]
                assert done >= 3, \
                    f"only {done} requests during the {kind} ({time.monotonic() - started:.1f}s)"

                fresh = httpx.post(f"{url}/v1/search", headers=AUTH,
                                   json={"query": "zebracorn quasar7 flux capacitor", "k": 3}).json()["hits"]
                with Ledger(settings.data_dir, readonly=True) as ledger:
                    diag = [tuple(r) for r in ledger.conn.execute(
                        "SELECT id, status, version, indexed_version FROM pages "
                        "WHERE title LIKE 'Zebracorn%'")]
                    diag.append(ledger.count("chunks", "text LIKE '%zebracorn%'"))
                    diag.append(output[-1500:])
                assert fresh and fresh[0]["title"] == "Zebracorn runbook 7", diag
            status = httpx.get(f"{url}/v1/status", headers=AUTH).json()
            assert status["active_collection"] != before and status["pages"] == PAGES + CREATED
            assert status["vectors"] == status["chunks"]
        engine.close()
