"""Benchmark of a no-change poll in a warm process (as `kb sync` runs it) against the emulator.

The emulator runs as its own process (`kb emulator --pages N`); this process pulls everything once,
then polls `--repeats` times with nothing changed, each in the same interpreter (PyAirbyte's source
kept loaded, as in `kb sync`), and prints for each: the requests, the wall seconds and this
process's CPU seconds, with the goals beside them (issue 13: at most 3 requests per space swept,
0 spaces swept, under 1 s of wall time and under 0.5 CPU s).

    .venv/bin/python bench/poll.py [--pages 20000] [--repeats 5] [--no-extras] [--profile FILE]
                                   [--keep DIR] [--sync]

--sync measures whole polls as `kb sync` runs them (`Ingester.run()`: the pull, then the index step
over what changed) instead of the pull alone, and prints the pages the index step looked at too. The
embedder is the configured model's identity with hashed vectors (bench/ingest.py's HashedVectors), so
the first pass embeds nothing slowly. The first `Ingester.run()` of a process is a full index pass by
design (also when --keep reuses a data dir), so the polls measured are the ones after it.
--no-extras turns comments and attachments off (fewer streams); the defaults keep them on.
--keep DIR keeps the emulator running and the data dir under DIR after the run, and a later run
with the same --keep DIR reuses both (no first pull): for measuring a change to the poll again.
--profile FILE writes a cProfile of the last poll (read it with `python -m pstats FILE`).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_WALL_S, GOAL_CPU_S, GOAL_REQUESTS_PER_SWEPT = 1.0, 0.5, 3


def _emulator(pages: int, workdir: Path, keep: bool) -> tuple[dict[str, str], Any]:
    """The emulator's fields, started now or (with --keep) reused when its process still runs."""
    from bench.pull import start_emulator

    saved = workdir / "emulator.json"
    if keep and saved.exists():
        fields = json.loads(saved.read_text())
        try:
            os.kill(int(fields["pid"]), 0)
            return fields, None
        except (OSError, ValueError, KeyError):
            pass
    proc, fields = start_emulator(pages, workdir)
    fields["pid"] = str(proc.pid)
    saved.write_text(json.dumps(fields))
    return fields, proc


def _syncer(settings: Any) -> Callable[[], tuple[Any, int | None]]:
    """One `kb sync` poll in this process: Ingester.run() -> (its pull report, pages the index looked at)."""
    from bench.ingest import HashedVectors
    from ingest.index.embed import load_embedder
    from ingest.pipeline import Ingester

    embedder = HashedVectors(load_embedder(settings))
    ingester = Ingester(settings, embedder=embedder, settle_heap=True)  # as kb sync's loop makes it

    def poll() -> tuple[Any, int | None]:
        report = ingester.run()
        return report.pull, report.index.pages_seen

    return poll


def main() -> None:
    parser = argparse.ArgumentParser(description="no-change poll cost in a warm process (emulator)")
    parser.add_argument("--pages", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5, help="no-change polls measured")
    parser.add_argument("--no-extras", action="store_true", help="comments and attachments off")
    parser.add_argument("--profile", help="write a cProfile of the last poll to this file")
    parser.add_argument("--keep", help="keep (and reuse) the emulator and the data dir under this folder")
    parser.add_argument("--sync", action="store_true",
                        help="measure whole Ingester.run() polls (pull + index step), as kb sync runs them")
    args = parser.parse_args()
    os.environ.setdefault("NO_LIVE_PROGRESS", "1")
    from bench.pull import process_cpu
    from ingest.config import load_settings
    from ingest.pull.run import pull

    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-poll-"))
    workdir.mkdir(parents=True, exist_ok=True)
    fields, proc = _emulator(args.pages, workdir, bool(args.keep))
    try:
        conf = {"domain_name": fields["domain"], "email": fields["email"], "api_token": fields["token"],
                "ca_bundle": fields.get("ca", "")}
        extras = {"attachments": False, "comments": False} if args.no_extras else {}
        name = "kb-noextras" if args.no_extras else "kb"
        settings = load_settings(confluence=conf, data={"dir": str(workdir / name)}, content=extras)
        poll = _syncer(settings) if args.sync else (lambda: (pull(settings), None))
        started, cpu = time.perf_counter(), time.process_time()
        first, looked = poll()  # the first pull (or, reusing --keep, a warm-up poll); --sync: a full pass
        print(f"{args.pages} pages, comments/attachments {'off' if args.no_extras else 'on'}: first "
              f"{'Ingester.run (full index pass)' if args.sync else 'pull'} "
              f"{time.perf_counter() - started:.1f} s, CPU {time.process_time() - cpu:.1f} s, "
              f"{first.requests} requests, seen {first.seen}"
              + (f", index looked at {looked} pages" if looked is not None else ""), flush=True)
        walls, cpus = [], []
        for i in range(max(1, args.repeats)):
            profiler = cProfile.Profile() if args.profile and i == args.repeats - 1 else None
            emu = process_cpu(int(fields["pid"]))
            started, cpu = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            report, looked = poll()
            if profiler:
                profiler.disable()
                profiler.dump_stats(args.profile)
            wall, used = time.perf_counter() - started, time.process_time() - cpu
            emu_end = process_cpu(int(fields["pid"]))
            emu_s = emu_end - emu if emu is not None and emu_end is not None else float("nan")
            walls.append(wall)
            cpus.append(used)
            swept = len(report.swept)
            index_part = f", the index step looked at {looked} pages (goal: 0)" if looked is not None else ""
            print(f"no-change {'sync ' if args.sync else ''}poll {i + 1}: {report.requests} requests, "
                  f"{swept} spaces swept (goal: 0, at most {GOAL_REQUESTS_PER_SWEPT} requests per space "
                  f"swept), wall {wall:.3f} s (goal < {GOAL_WALL_S}), "
                  f"CPU {used:.3f} s (goal < {GOAL_CPU_S}); "
                  f"seen {report.seen}, changed {report.changed}{index_part}; "
                  f"the emulator's CPU {emu_s:.3f} s", flush=True)
        print(f"median: wall {statistics.median(walls):.3f} s, CPU {statistics.median(cpus):.3f} s")
    finally:
        if proc is not None and not args.keep:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
