"""`kb pull` as a process: the cursor survives between processes, the --json report has exactly its
keys, and kill -9 at any moment is followed by a pull that ends with the ledger of a clean pull."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.config import Settings, load_settings
from ingest.pull.run import pull
from ingest.storage.ledger import Ledger

KB = [sys.executable, "-c", "from retrieval.cli import main; main()"]
KEYS = ["seen", "new", "changed", "unchanged", "moved", "deleted", "restored", "requests", "bytes",
        "seconds", "pages/s", "access", "swept"]  # access, swept: added later (new keys, none renamed)


def kb_env(conf: dict[str, Any], data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update({"KB_CONFLUENCE__DOMAIN_NAME": conf["domain_name"], "KB_CONFLUENCE__EMAIL": conf["email"],
                "KB_CONFLUENCE__API_TOKEN": conf["api_token"], "KB_CONFLUENCE__CA_BUNDLE": conf["ca_bundle"],
                "KB_DATA__DIR": str(data_dir), "KB_PULL__PAGE_SIZE": "25", **extra})
    return env


def ledger_rows(data_dir: Path) -> list[tuple[Any, ...]]:
    with Ledger(data_dir) as led:
        return [tuple(r) for r in led.conn.execute(
            "SELECT id, kind, space_key, space_name, title, url, version, updated_at, status, labels, "
            "ancestors, read_users, read_groups, body FROM pages ORDER BY id")]


@pytest.mark.slow
def test_the_cursor_survives_between_processes(emulator_factory: Any, tmp_path: Path) -> None:
    emu = emulator_factory(pages=30, blogposts=2, seed=4)
    conf = emu.confluence_settings()
    settings = load_settings(confluence=conf, data={"dir": str(tmp_path / "kb")})
    pull(settings)
    with Ledger(settings.data_dir) as led:
        cursor = led.get_cursor("content")
    emu.admin.clear_requests()
    out = subprocess.run([*KB, "pull", "--json"], capture_output=True, text=True, cwd=tmp_path,
                         env=kb_env(conf, settings.data_dir), timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert list(report) == KEYS
    assert (report["new"], report["changed"], report["deleted"]) == (0, 0, 0)
    assert report["requests"] == len(emu.admin.requests())
    cql = [q["query"]["cql"][0] for q in emu.admin.requests()
           if "lastmodified" in q["query"].get("cql", [""])[0]]
    assert cql and all(f'lastmodified >= "{cursor[:4]}' in c and "2000" not in c for c in cql)


@pytest.fixture
def emulator_process(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`kb emulator` as a subprocess (its first line says where it is)."""
    proc = subprocess.Popen([*KB, "emulator", "--pages", "600", "--seed", "7"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=tmp_path)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("confluence emulator:"), line
        fields = dict(part.split("=", 1) for part in line.split()[2:])
        yield {"domain_name": fields["domain"], "email": fields["email"], "api_token": fields["token"],
               "ca_bundle": fields["ca"], "url": fields["url"]}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def _kill_when(proc: subprocess.Popen[str], data_dir: Path, moment: str, timeout: float = 120) -> str:
    """kill -9 the pull at `moment`: 'reading' (ledger still empty) or 'applying' (some rows in)."""
    deadline = time.monotonic() + timeout
    db = data_dir / Ledger.FILENAME
    while time.monotonic() < deadline and proc.poll() is None:
        rows = 0
        if db.exists():
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
                    rows = conn.execute("SELECT count(*) FROM pages").fetchone()[0]
            except sqlite3.OperationalError:
                rows = 0
        started = (data_dir / "airbyte").exists()
        if (moment == "reading" and started and rows == 0) or (moment == "applying" and rows > 0):
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            return f"killed while {moment} ({rows} rows)"
        time.sleep(0.01)
    proc.wait(timeout=timeout)
    return f"finished before the kill ({moment})"


@pytest.mark.slow
def test_kill_9_then_pull_equals_a_clean_pull(emulator_process: dict[str, str], tmp_path: Path) -> None:
    conf = {k: v for k, v in emulator_process.items() if k != "url"}
    crashed, clean = tmp_path / "crashed", tmp_path / "clean"
    outcomes = []
    for moment in ("reading", "applying"):
        proc = subprocess.Popen([*KB, "pull"], cwd=tmp_path, env=kb_env(conf, crashed),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        outcomes.append(_kill_when(proc, crashed, moment))
        with Ledger(crashed) as led:
            cursor = led.get_cursor("content")
            newest = led.conn.execute("SELECT max(updated_at) FROM pages").fetchone()[0]
        assert cursor is None or (newest is not None and cursor <= newest), outcomes  # never ahead
    print("kill -9:", "; ".join(outcomes))
    settings: Settings = load_settings(confluence=conf, data={"dir": str(crashed)})
    after = pull(settings)
    assert after.deleted == 0
    pull(load_settings(confluence=conf, data={"dir": str(clean)}))
    assert ledger_rows(crashed) == ledger_rows(clean), outcomes
    assert len(ledger_rows(clean)) == 600
    with Ledger(crashed) as a, Ledger(clean) as b:
        assert a.get_cursor("content") == b.get_cursor("content")
