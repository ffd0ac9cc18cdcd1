"""Load on `kb serve` over loopback: N /v1/search requests at concurrency C with httpx.

Builds a knowledge base first (generated pages served by the emulator, ingested with `kb ingest` and the
bundled model), starts `kb serve` in its own process, warms it up, then sends the load and prints
requests/s, latency p50/p95/p99 and the error count (0 expected). Side by side, the baseline: the same
queries through the same engine in-process (no HTTP), at the same concurrency, and their ratio.
(Batching concurrent queries into one model call was tried and measured 3x slower here: the
embedding thread and the request threads fight over the GIL. One model call per query it is.)

    .venv/bin/python bench/serve.py [--requests 2000] [--concurrency 16] [--pages 200]
                                    [--data-dir DIR (built there once, then reused)] [--fake-embedder]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for name, value in (("HF_HUB_OFFLINE", "1"), ("ANONYMIZED_TELEMETRY", "False"), ("AIRBYTE_OFFLINE_MODE", "1"),
                    ("DO_NOT_TRACK", "1")):
    os.environ.setdefault(name, value)

KEY = "bench-key"
FAKE_SERVER = """
import sys, uvicorn
from ingest.config import load_settings
from ingest.index.embed import FakeEmbedder
from retrieval.http.engine import KBEngine
from retrieval.http.app import create_app
settings = load_settings()
engine = KBEngine.open(settings, embedder=FakeEmbedder())
uvicorn.run(create_app(settings, engine=engine), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""
INGEST = """
from ingest.config import load_settings
from ingest.index.embed import FakeEmbedder
from ingest.pipeline import ingest
print(ingest(load_settings(), embedder=FakeEmbedder()).to_dict())
"""


def build_kb(data_dir: Path, pages: int, fake: bool) -> float:
    """Generated pages through the emulator into a KB at data_dir (a subprocess, like an operator)."""
    from emulator.testing import running_emulator

    with running_emulator(sample=False, pages=pages, seed=7) as emu:
        env = {**os.environ, "KB_DATA__DIR": str(data_dir), "KB_CONFIG": "",
               **{f"KB_CONFLUENCE__{k.upper()}": str(v) for k, v in emu.confluence_settings().items()}}
        cmd = [sys.executable, "-c", INGEST] if fake else [str(ROOT / ".venv/bin/kb"), "ingest", "--json"]
        started = time.perf_counter()
        out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
        if out.returncode != 0:
            raise SystemExit(f"ingest failed:\n{out.stderr[-3000:]}")
        return time.perf_counter() - started


def queries(data_dir: Path, n: int = 200) -> list[str]:
    """Varied queries: the opening words of chunks, and page titles."""
    from itertools import islice

    from ingest.storage import Ledger, LedgerChunks

    with Ledger(data_dir, readonly=True) as ledger:
        texts = [text for _, _, text in LedgerChunks(ledger).iter_rows(limit=n)]
        titles = [page.title for page in islice(ledger.iter_pages(status=None), n // 4)]
    out = [" ".join(text.split()[:8]) for text in texts] + titles
    return [q for q in out if q.strip()] or ["how do I deploy"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data_dir: Path, fake: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "KB_DATA__DIR": str(data_dir), "KB_SERVER__API_KEYS": KEY, "KB_CONFIG": "",
           "KB_SERVER__RATE_LIMIT_PER_MINUTE": "0"}
    cmd = ([sys.executable, "-c", FAKE_SERVER, str(port)] if fake else
           [str(ROOT / ".venv/bin/kb"), "serve", "--port", str(port), "--log-level", "warning"])
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start within 180 s")


async def load(url: str, qs: list[str], total: int, concurrency: int) -> tuple[float, list[float], int]:
    """(seconds, latencies in ms, errors) for `total` searches from `concurrency` workers."""
    import httpx

    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, limits=limits,
                                 timeout=60) as client:
        async def worker() -> None:
            nonlocal errors
            for i in counter:
                started = time.perf_counter()
                try:
                    resp = await client.post("/v1/search", json={"query": qs[i % len(qs)], "k": 5})
                    ok = resp.status_code == 200 and isinstance(resp.json().get("hits"), list)
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - started) * 1e3)
                errors += 0 if ok else 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, errors


def in_process(data_dir: Path, qs: list[str], total: int, concurrency: int,
               fake: bool) -> tuple[float, list[float]]:
    """The baseline: the same engine, no HTTP, the same concurrency (threads)."""
    from ingest.config import load_settings
    from ingest.index.embed import FakeEmbedder
    from retrieval.http.engine import KBEngine

    engine = KBEngine.open(load_settings(data={"dir": str(data_dir)}),
                           embedder=FakeEmbedder() if fake else None)
    for q in qs[:32]:
        engine.search(q, k=5)

    def one(i: int) -> float:
        started = time.perf_counter()
        engine.search(qs[i % len(qs)], k=5)
        return (time.perf_counter() - started) * 1e3

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(one, range(total)))
    seconds = time.perf_counter() - started
    engine.close()
    return seconds, latencies


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(name: str, total: int, seconds: float, latencies: list[float], errors: int | None = None) -> float:
    rps = total / seconds
    line = (f"{name:<22} {total} requests in {seconds:.2f} s: {rps:.1f} requests/s,"
            f" p50 {pct(latencies, 50):.1f} ms,"
            f" p95 {pct(latencies, 95):.1f} ms, p99 {pct(latencies, 99):.1f} ms")
    print(line + (f", errors {errors}" if errors is not None else ""), flush=True)
    return rps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--fake-embedder", action="store_true", help="FakeEmbedder: the HTTP layer alone")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="kb-bench-serve-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "kb"
        if not (data_dir / "ledger.sqlite3").is_file():
            took = build_kb(data_dir, args.pages, args.fake_embedder)
            print(f"knowledge base: {args.pages} generated pages ingested in {took:.1f} s", flush=True)
        qs = queries(data_dir)
        proc, url = start_server(data_dir, args.fake_embedder)
        try:
            asyncio.run(load(url, qs, 32, 4))  # warm-up
            seconds, latencies, errors = asyncio.run(load(url, qs, args.requests, args.concurrency))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        model = "FakeEmbedder" if args.fake_embedder else "all-MiniLM-L6-v2"
        print(f"POST /v1/search, concurrency {args.concurrency}, {len(qs)} distinct queries, model {model}; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (figures are noisy under load)")
        http_rps = report("HTTP (kb serve)", args.requests, seconds, latencies, errors)
        base_seconds, base_latencies = in_process(data_dir, qs, args.requests, args.concurrency,
                                                  args.fake_embedder)
        base_rps = report("in-process engine", args.requests, base_seconds, base_latencies)
        print(f"HTTP / in-process throughput ratio: {http_rps / base_rps:.2f}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
