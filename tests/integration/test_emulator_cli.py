"""`kb emulator` as a subprocess: the machine-readable first line, serving, and a clean SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.helpers import ROOT, kb_emulator

LINE = re.compile(r"confluence emulator: url=(https://127\.0\.0\.1:(\d+)) domain=(127\.0\.0\.1:\2) "
                  r"email=(\S+) token=(\S+) ca=(\S+\.pem)$")


def test_kb_emulator_prints_its_line_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"id": "42", "type": "page", "space": "T", "title": "Only", "body": "<p>x</p>"}\n')
    with kb_emulator("--port", "0", "--corpus", str(corpus)) as (proc, first):
        match = LINE.match(first)
        assert match, first
        url, _, _, email, token, ca = match.groups()
        r = httpx.get(url + "/wiki/rest/api/content/42", auth=(email, token), verify=ca, timeout=10)
        assert r.status_code == 200 and r.json()["title"] == "Only"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def test_kb_emulator_help_is_fast_and_light() -> None:
    code = ("import sys, time; t = time.perf_counter(); sys.argv = ['kb', 'emulator', '--help']\n"
            "from retrieval.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'chromadb', 'airbyte', 'trustme') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "--pages" in out.stdout and "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_kb_emulator_extras_serves_the_samples_attachments_and_comments() -> None:
    with kb_emulator("--port", "0", "--extras") as (proc, first):
        match = LINE.match(first)
        assert match, first
        url, _, _, email, token, ca = match.groups()
        counts = {}
        for kind in ("attachment", "comment"):
            r = httpx.get(url + "/wiki/rest/api/content/search", params={"cql": f"type={kind}", "limit": 50},
                          auth=(email, token), verify=ca, timeout=10)
            assert r.status_code == 200, r.text
            counts[kind] = len(r.json()["results"])
        assert counts["attachment"] >= 8 and counts["comment"] >= 2, counts
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
