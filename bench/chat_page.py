"""Time from pressing Enter on the chat page to the first streamed word, in headless Chromium.

Ingests the sample space (the emulator, `kb ingest`, the bundled model), starts `kb serve` on it, opens
the page in Debian's headless Chromium (selenium), and asks the first N questions of the sample QA file,
each in a new conversation, by typing it and pressing Enter. The page stamps each answer with the
milliseconds from the Enter key's handler to the first `delta` event painted into the answer
(`data-first-word-ms`); the figure is their median (and p90, min, max). Beside it, the same questions
straight to POST /v1/ask as server-sent events with httpx (request sent -> first delta), to show what
the page adds. Two warm-up questions are not counted; each path gets its own fresh `kb serve` (the
answerer caches sentence vectors, so a second pass over the same questions would be faster).

    .venv/bin/python bench/chat_page.py [--questions 20] [--data-dir DIR (built there once, then reused)]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.chat_browser import ask, browser_missing, chrome, kb_serve, open_page, sample_kb, wait_answer  # noqa: E402

KEY = "bench-chat-key"


def questions(n: int) -> list[str]:
    from emulator.corpus import SAMPLE_QA

    lines = Path(SAMPLE_QA).read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()][:n]


def in_browser(url: str, qs: list[str]) -> list[float]:
    """Enter -> first streamed word, as the page measured it, per question."""
    from selenium.webdriver.common.by import By

    out = []
    with chrome(1280, 900) as driver:
        open_page(driver, url, KEY)
        for i, question in enumerate([*qs[:2], *qs]):
            driver.find_element(By.ID, "new-chat").click()
            turn = wait_answer(driver, ask(driver, question), poll=0.25)  # the page times itself
            first = turn.get_attribute("data-first-word-ms")
            if first is None:
                raise SystemExit(f"no streamed word for {question!r}: {turn.text[:300]}")
            if i >= 2:
                out.append(float(first))
    return out


def over_sse(url: str, qs: list[str]) -> list[float]:
    """Request sent -> first delta event, straight to /v1/ask with httpx."""
    import httpx

    out = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as client:
        for i, question in enumerate([*qs[:2], *qs]):
            started = time.perf_counter()
            first = None
            with client.stream("POST", "/v1/ask", json={"question": question, "stream": True}) as resp:
                for line in resp.iter_lines():
                    if first is None and line == "event: delta":
                        first = (time.perf_counter() - started) * 1e3
            if i >= 2 and first is not None:
                out.append(first)
    return out


def describe(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return (f"{name:<34} median {statistics.median(values):6.1f} ms, p90 {p90:6.1f} ms, "
            f"min {ordered[0]:6.1f} ms, max {ordered[-1]:6.1f} ms  ({len(values)} questions)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    missing = browser_missing()
    if missing:
        print(f"skipped: {missing}")
        return 0
    qs = questions(args.questions)
    with ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="kb-bench-chat-"))
        data_dir = args.data_dir or Path(tmp) / "kb"
        if not (data_dir / "ledger.sqlite3").is_file():
            started = time.perf_counter()
            stack.enter_context(sample_kb(data_dir))
            print(f"sample space ingested in {time.perf_counter() - started:.1f} s", flush=True)
        keys = f"{KEY}=operator"  # sees every page the ingest could read
        with kb_serve(data_dir, keys) as url:  # a fresh server each: the answerer caches sentence vectors
            page = in_browser(url, qs)
        with kb_serve(data_dir, keys) as url:
            sse = over_sse(url, qs)
    print(describe("Enter -> first word (chat page)", page))
    print(describe("request -> first delta (SSE, httpx)", sse))
    print(f"sample space, model all-MiniLM-L6-v2, extractive answers; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} (figures are noisy under load)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
