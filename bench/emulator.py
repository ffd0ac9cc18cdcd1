"""Benchmark: read N generated pages with bodies from the emulator through one HTTPS client.

    .venv/bin/python bench/emulator.py [--pages 2000] [--limit 50] [--http]

Pages through `GET /wiki/rest/api/content?type=page&expand=body.storage,version,space,ancestors,
history,metadata.labels,restrictions...` following `_links.next`, with one httpx client (keep-alive),
and prints pages/s (goal: at least 300, so the emulator never limits the ingest benchmarks), plus
the same for CQL search, the request count, bytes and the server's resident memory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from emulator.testing import running_emulator

EXPAND = ("body.storage,version,space,ancestors,history,metadata.labels,"
          "restrictions.read.restrictions.user,restrictions.read.restrictions.group")


def read_all(client: httpx.Client, first: str, params: dict[str, str]) -> tuple[int, int, int]:
    """(items, requests, bytes) reading every page of results from `first`."""
    items = requests = size = 0
    url: str | None = first
    query: dict[str, str] | None = params
    while url:
        response = client.get(url, params=query)
        response.raise_for_status()
        body = response.json()
        items += sum(1 for r in body["results"] if r["body"]["storage"]["value"])
        requests += 1
        size += len(response.content)
        nxt = body["_links"].get("next")
        url, query = (body["_links"]["base"] + nxt, None) if nxt else (None, None)
    return items, requests, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--http", action="store_true", help="plain HTTP instead of HTTPS")
    args = parser.parse_args()

    started = time.perf_counter()
    with running_emulator(pages=args.pages, http=args.http) as emu:
        load_s = time.perf_counter() - started
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"emulator: {len(emu.store.items)} pages loaded in {load_s:.2f}s "
              f"(process max RSS {rss_mb:.0f} MB), {emu.url}")
        with httpx.Client(auth=(emu.email, emu.token), verify=emu.ca_path or False, timeout=60) as client:
            for name, path, params in [
                ("content", "/wiki/rest/api/content",
                 {"type": "page", "limit": str(args.limit), "expand": EXPAND}),
                ("search", "/wiki/rest/api/content/search",
                 {"cql": 'type = page AND lastmodified >= "2000/01/01 00:00" ORDER BY lastmodified ASC',
                  "limit": str(args.limit), "expand": EXPAND}),
            ]:
                t0 = time.perf_counter()
                items, requests, size = read_all(client, emu.url + path, params)
                seconds = time.perf_counter() - t0
                print(f"{name}: {items} pages with bodies in {seconds:.2f}s = {items / seconds:.0f} pages/s "
                      f"({requests} requests, {size / 1e6:.1f} MB, {size / max(items, 1) / 1024:.1f} KB/page)"
                      f"  goal >= 300 pages/s: {'OK' if items / seconds >= 300 else 'BELOW'}")


if __name__ == "__main__":
    main()
