"""Benchmark of `kb pull` (our manifest through PyAirbyte) against the emulator with generated pages.

Prints: the full pull's pages/s beside a plain client reading the same pages from the same emulator
(the emulator's own ceiling), a no-change re-pull's time as a % of the full pull and its request
count, and the same after editing 1% of the pages. The emulator runs as its own process
(`kb emulator --pages N`), so it does not share the pull's interpreter.

    .venv/bin/python bench/pull.py [--pages 5000] [--page-size 50] [--repeats 3] [--rounds 1] [--datacenter]

With --datacenter the emulator serves Confluence Data Center (`kb emulator --datacenter`: bearer
personal access token, context path /confluence, start/limit paging, 200 per listing) and the same
figures are printed for it.
Goals: a full pull within 2.5x a plain client's read (issue 13's regression bar; `--rounds 5` gives
the median of five); issue 3's no-change re-pull within 5% of the full pull's time. It also prints
the floor under a sweeping re-pull: the emulator's own time to list every id (plain client), which
no client can go below; and, for the plain client's read and the full pull, the CPU seconds used
by this process and by the emulator's (from /proc), which say which side limits: the one busy for
(nearly) the whole wall time.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KB = [sys.executable, "-c", "from retrieval.cli import main; main()"]


def start_emulator(pages: int, workdir: Path, datacenter: bool = False
                   ) -> tuple[subprocess.Popen[str], dict[str, str]]:
    mode = ["--datacenter"] if datacenter else []
    proc = subprocess.Popen([*KB, "emulator", "--pages", str(pages), "--seed", "11", *mode], cwd=workdir,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("confluence emulator:"):
        proc.kill()
        raise SystemExit(f"the emulator did not start: {line!r}")
    fields = dict(part.split("=", 1) for part in line.split()[2:])
    fields.setdefault("context", "/wiki")
    return proc, fields


def plain_search(fields: dict[str, str], params: dict[str, Any]) -> tuple[float, int, int]:
    """A CQL search read to its end with one keep-alive requests session, following `_links.next`:
    (seconds, items, requests)."""
    import requests

    session = requests.Session()
    if fields.get("deployment") == "datacenter":
        session.headers["Authorization"] = f"Bearer {fields['token']}"
    else:
        session.auth = (fields["email"], fields["token"])
    verify = fields["ca"] or True  # per request: REQUESTS_CA_BUNDLE in the environment beats the session's
    site = fields["url"] + fields["context"]
    url: str | None = f"{site}/rest/api/content/search"
    query: dict[str, Any] | None = params
    started, items, calls = time.perf_counter(), 0, 0
    while url:
        data = session.get(url, params=query, timeout=60, verify=verify).json()
        calls += 1
        items += len(data["results"])
        nxt = data.get("_links", {}).get("next")
        url, query = (f"{site}{nxt}", None) if nxt else (None, None)
    return time.perf_counter() - started, items, calls


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) a process has used so far, from /proc (None where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CPU:
    """CPU used during a block by this process (all its threads) and by the emulator's process."""

    def __init__(self, emulator_pid: int) -> None:
        self.pid = emulator_pid
        self.ours = self.emulator = 0.0

    def __enter__(self) -> CPU:
        self._ours, self._emu = time.process_time(), process_cpu(self.pid)
        return self

    def __exit__(self, *exc: object) -> None:
        self.ours = time.process_time() - self._ours
        end = process_cpu(self.pid)
        self.emulator = end - self._emu if end is not None and self._emu is not None else float("nan")

    def line(self, wall: float) -> str:
        return (f"CPU in {wall:.2f} s of wall time on {os.cpu_count()} cores: "
                f"this process {self.ours:.2f} s, the emulator {self.emulator:.2f} s")


def plain_client_read(fields: dict[str, str], page_size: int) -> tuple[float, int, int]:
    """The full pull's CQL window, as a plain client reads it: the emulator's ceiling."""
    expand = ("body.storage,version,space,ancestors,history,metadata.labels,"
              "restrictions.read.restrictions.user,restrictions.read.restrictions.group")
    return plain_search(fields, {"cql": 'type=page AND lastmodified >= "1999-12-31 23:58" ORDER BY '
                                        "lastmodified ASC", "limit": page_size, "expand": expand})


def plain_client_sweep(fields: dict[str, str], page_size: int = 250) -> tuple[float, int, int]:
    """The id sweep's listing (ids with versions, no bodies) read with a plain client: the emulator's
    own time for what every sweeping pull must read, whatever the client."""
    return plain_search(fields, {"cql": "type IN (page,blogpost) ORDER BY id ASC", "limit": page_size,
                                 "expand": "version"})


def timed_pull(settings: Any) -> tuple[float, Any, dict[str, float]]:
    from ingest.pull.run import pull

    marks: dict[str, float] = {}
    started = time.perf_counter()

    def progress(done: int, total: int | None, what: str) -> None:
        if what == "pages applied":
            marks.setdefault("first_apply", time.perf_counter() - started)

    report = pull(settings, progress=progress)
    return time.perf_counter() - started, report, marks


def repeated_pull(settings: Any, repeats: int) -> tuple[float, Any, str]:
    """`repeats` no-change pulls: the median time, the last report, and the times as text."""
    import statistics

    times, report = [], None
    for _ in range(max(1, repeats)):
        seconds, report, _ = timed_pull(settings)
        times.append(seconds)
    return statistics.median(times), report, " ".join(f"{t:.2f}" for t in times)


def main() -> None:
    parser = argparse.ArgumentParser(description="benchmark kb pull against the emulator")
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3, help="no-change re-pulls timed (median)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="first pulls timed, each into a new data dir after its own plain-client read "
                             "(the median ratio is printed; the machine's load moves single runs)")
    parser.add_argument("--datacenter", action="store_true",
                        help="against the emulator's Confluence Data Center mode (bearer PAT, /confluence)")
    args = parser.parse_args()
    os.environ.setdefault("NO_LIVE_PROGRESS", "1")
    from ingest.config import load_settings

    with tempfile.TemporaryDirectory(prefix="bench-pull-") as tmp:
        proc, fields = start_emulator(args.pages, Path(tmp), args.datacenter)
        try:
            run(args, fields, Path(tmp), load_settings, proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def run(args: argparse.Namespace, fields: dict[str, str], tmp: Path, load_settings: Any,
        emulator_pid: int) -> None:
    from emulator.admin import EmulatorAdmin
    from ingest.pull._airbyte import open_source, prepare_environment

    conf = {"domain_name": fields["domain"], "email": fields["email"], "api_token": fields["token"],
            "ca_bundle": fields["ca"]}
    if fields.get("deployment") == "datacenter":
        conf = {"deployment": "datacenter", "domain_name": fields["domain"], "pat": fields["token"],
                "context_path": fields["context"], "ca_bundle": fields["ca"]}
    print(f"deployment: {fields.get('deployment', 'cloud')} at {fields['url']}{fields['context']}, "
          f"{args.pages} generated pages")
    ratios: list[float] = []
    for round_no in range(max(1, args.rounds)):  # each round: the plain read, then a first pull anew
        label = f"round {round_no + 1}: " if args.rounds > 1 else ""
        settings = load_settings(confluence=conf, data={"dir": str(tmp / f"kb-{round_no}")},
                                 pull={"page_size": args.page_size})
        prepare_environment(settings)
        open_source(settings, {"domain_name": "x", "email": "x", "api_token": "x"})  # imports, once
        with CPU(emulator_pid) as base_cpu:
            base_s, base_items, base_calls = plain_client_read(fields, args.page_size)
        print(f"{label}emulator ceiling (plain requests client, same CQL pages): {base_items} pages in "
              f"{base_s:.2f} s = {base_items / base_s:.0f} pages/s over {base_calls} requests")
        print(f"  {base_cpu.line(base_s)}")
        with CPU(emulator_pid) as full_cpu:
            full_s, full, marks = timed_pull(settings)
        ratios.append(full_s / base_s)
        print(f"{label}full pull: {full.seen} pages in {full_s:.2f} s = {full.seen / full_s:.0f} pages/s, "
              f"{full.requests} requests, {full.bytes / 1e6:.1f} MB "
              f"(PyAirbyte read {marks.get('first_apply', 0):.2f} s, "
              f"ledger apply and sweep {full_s - marks.get('first_apply', 0):.2f} s); "
              f"{full_s / base_s:.1f}x the plain client's time")
        least = (full_cpu.ours + full_cpu.emulator) / (os.cpu_count() or 1)
        print(f"  {full_cpu.line(full_s)}: the limit is whichever side is busy all along; both together "
              f"need {least:.2f} s of wall time at the least")
    if len(ratios) > 1:
        import statistics

        print(f"full pull against the plain client over {len(ratios)} rounds: median "
              f"{statistics.median(ratios):.2f}x (" + " ".join(f"{r:.2f}" for r in ratios) + ")")
    again_s, again, spread = repeated_pull(settings, args.repeats)
    print(f"no-change re-pull: {again_s:.2f} s = {100 * again_s / full_s:.1f}% of the full pull "
          f"(median of {args.repeats}: {spread}), {again.requests} requests, {again.bytes / 1e6:.2f} MB, "
          f"seen {again.seen}, new {again.new}, changed {again.changed}")
    sweep_s, sweep_items, sweep_calls = plain_client_sweep(fields)
    print(f"  of which the floor: the emulator lists {sweep_items} ids in {sweep_s:.2f} s = "
          f"{100 * sweep_s / full_s:.1f}% of the full pull ({sweep_calls} requests, plain client)")
    lazy = settings.model_copy(update={"pull": settings.pull.model_copy(update={"sweep_every": 10})})
    nosweep_s, nosweep, spread = repeated_pull(lazy, args.repeats)
    print(f"no-change re-pull with sweep_every=10 (no sweep these runs): {nosweep_s:.2f} s = "
          f"{100 * nosweep_s / full_s:.1f}% of the full pull (median of {args.repeats}: {spread}), "
          f"{nosweep.requests} requests")
    admin = EmulatorAdmin(fields["url"], ca_path=fields["ca"] or None)
    admin.clock(advance_minutes=10)
    from ingest.storage.ledger import Ledger

    with Ledger(settings.data_dir) as led:
        ids = [p.id for p in led.iter_pages()][:: 100][: max(1, args.pages // 100)]
    for pid in ids:
        admin.edit(pid, body=f"<p>edited for the benchmark {pid}</p>")
    edit_s, edited, _ = timed_pull(settings)
    print(f"after editing 1% ({len(ids)} pages): {edit_s:.2f} s = {100 * edit_s / full_s:.1f}% "
          f"of the full pull, {edited.requests} requests, changed {edited.changed}, seen {edited.seen}")
    admin.close()


if __name__ == "__main__":
    main()
