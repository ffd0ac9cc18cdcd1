"""Clean + chunk throughput on generated ~5 KB pages, one core.

    .venv/bin/python bench/clean_chunk.py [--pages 1000] [--seed 0] [--no-window] [--parsers]

Prints pages/s and tokens/s (tiktoken cl100k tokens of the chunk texts) for clean, chunk and both,
with the production counters: tiktoken for `chunk_tokens`, the bundled model's tokenizer for the
window. `--parsers` also times bare parsing: lxml (what clean uses) against bs4 with "lxml" and
"html.parser", the reason clean walks lxml's tree itself. Goal: >= 200 pages/s for clean + chunk.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.config import ChunkSettings
from ingest.records import Ancestor, Page
from ingest.text.chunk import Chunker, tiktoken_counter, window_counter, window_size
from ingest.text.clean import clean


def one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to cpu {cpu}"
    return "not pinned (no sched_setaffinity)"


def corpus(pages: int, seed: int) -> list[dict[str, Any]]:
    try:
        from emulator.corpus import generate

        return list(generate(pages, seed=seed))
    except ImportError:
        return list(fallback_corpus(pages, seed))


def fallback_corpus(pages: int, seed: int) -> Iterable[dict[str, Any]]:
    """~5 KB storage pages, for when the emulator's generator is not there."""
    rng = random.Random(seed)
    vocab = [f"term{i}" for i in range(400)]

    def para() -> str:
        return "<p>" + " ".join(rng.choice(vocab) for _ in range(rng.randint(20, 60))) + ".</p>"

    for i in range(pages):
        parts = []
        while sum(map(len, parts)) < 5000:
            parts.append(f"<h2>Section {len(parts)}</h2>" + para() + para())
            parts.append('<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">sh'
                         "</ac:parameter><ac:plain-text-body><![CDATA[make test]]></ac:plain-text-body>"
                         "</ac:structured-macro>")
        yield {"id": str(i), "space": "GEN", "title": f"Page {i}", "body": "".join(parts)}


def to_page(item: dict[str, Any]) -> Page:
    return Page(str(item["id"]), item.get("type", "page"), item.get("space", "GEN"), item.get("title", ""),
                "", int(item.get("version", 1)), item.get("updated", ""), body_html=item["body"],
                space_name=item.get("space", ""), ancestors=(Ancestor("0", "Home"),))


def timed(fn: Callable[[], Any]) -> tuple[tuple[float, float], Any]:
    """(wall seconds, CPU seconds of this process) and the result: on a shared machine the CPU time
    is what one core spends; the wall time includes waiting for the core."""
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return (time.perf_counter() - start, time.process_time() - cpu), out


def parsers(bodies: list[str]) -> None:
    from bs4 import BeautifulSoup
    from lxml import etree

    def lxml_xml() -> None:
        for b in bodies:
            etree.fromstring(f'<r xmlns:ac="a" xmlns:ri="r">{b}</r>', etree.XMLParser(recover=True))

    for name, fn in [("lxml XML (recover)", lxml_xml),
                     ('bs4 "lxml"', lambda: [BeautifulSoup(b, "lxml") for b in bodies]),
                     ('bs4 "html.parser"', lambda: [BeautifulSoup(b, "html.parser") for b in bodies])]:
        (_, cpu), _ = timed(fn)
        print(f"  parse only, {name:20s} {len(bodies) / cpu:9.0f} pages/s (CPU time)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-window", action="store_true", help="tiktoken budget only")
    ap.add_argument("--parsers", action="store_true", help="also time bare parsing: lxml vs bs4")
    args = ap.parse_args()

    print(f"clean + chunk bench: {one_core()}")
    items = corpus(args.pages, args.seed)
    pages = [to_page(i) for i in items]
    sizes = [len(p.body_html.encode()) for p in pages]
    print(f"  {len(pages)} pages, mean {statistics.mean(sizes) / 1024:.1f} KB, "
          f"median {statistics.median(sizes) / 1024:.1f} KB, total {sum(sizes) / 1e6:.1f} MB")

    count = tiktoken_counter()
    window = None if args.no_window else window_size()
    chunker = Chunker(ChunkSettings(), count_tokens=count, window_tokens=window,
                      count_window=None if args.no_window else window_counter())
    chunker.chunk(pages[0], clean(pages[0].body_html))  # warm up: tokenizers, lxml, caches

    t_clean, cleaned = timed(lambda: [clean(p.body_html) for p in pages])
    t_chunk, chunks = timed(lambda: [chunker.chunk(p, b) for p, b in zip(pages, cleaned, strict=False)])
    flat = [c for cs in chunks for c in cs]
    tokens = sum(c.tokens for c in flat)
    problems = chunker.check(flat)
    print(f"  window: {window or 'off'}; {len(flat)} chunks ({len(flat) / len(pages):.1f}/page), "
          f"{tokens} tokens, mean {tokens / max(len(flat), 1):.0f} tokens/chunk, budget problems: "
          f"{len(problems)}")
    both = (t_clean[0] + t_chunk[0], t_clean[1] + t_chunk[1])
    print(f"  {'':14s} {'wall clock':>35s}   {'CPU time (one core)':>35s}")
    for name, (wall, cpu) in [("clean", t_clean), ("chunk", t_chunk), ("clean + chunk", both)]:
        print(f"  {name:14s} {len(pages) / wall:6.0f} pages/s {tokens / wall:9.0f} tokens/s "
              f"{wall * 1000 / len(pages):5.2f} ms/page   {len(pages) / cpu:6.0f} pages/s "
              f"{tokens / cpu:9.0f} tokens/s {cpu * 1000 / len(pages):5.2f} ms/page")
    print(f"  load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.parsers:
        parsers([p.body_html for p in pages[:300]])


if __name__ == "__main__":
    main()
