"""Hostile review, the `kb` edge (issue 17): usage errors instead of arbitrary hits, a data dir that
cannot be used, --debug that shows the error, a killed run shown as interrupted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers import ROOT


def _kb(*args: str, data_dir: Path | str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "KB_CONFIG": "", "KB_DATA__DIR": str(data_dir), **env}
    full.pop("KB_CONFIG")
    return subprocess.run([sys.executable, "-c", "from retrieval.cli import main; main()", *args],
                          capture_output=True, text=True, cwd=ROOT, env=full, timeout=120)


def test_empty_query_and_k_zero_are_usage_errors(tmp_path: Path) -> None:
    for args in (("search", ""), ("search", "   "), ("ask", ""), ("search", "vpn", "--k", "0"),
                 ("ask", "vpn", "-k", "0"), ("search", "vpn", "--kind", "folder")):
        out = _kb(*args, data_dir=tmp_path / "kb")
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert "Traceback" not in out.stderr and not out.stdout, args
    assert "folder" in _kb("search", "vpn", "--kind", "folder", data_dir=tmp_path).stderr


def test_a_label_no_page_has_says_so(tiny_kb: Any) -> None:
    out = _kb("search", "token", "--label", "no-such-label", data_dir=tiny_kb.data_dir)
    assert out.returncode == 2 and "no page has the label 'no-such-label'" in out.stderr, out.stderr


def test_a_data_dir_that_is_a_file_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "kb"
    blocker.write_text("not a directory")
    for args in (("status",), ("status", "--json"), ("ingest",), ("search", "vpn")):
        out = _kb(*args, data_dir=blocker)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert out.stderr.lstrip().startswith("error: the data dir") and "is a file" in out.stderr, out.stderr
        assert "pages: 0" not in out.stdout and "unexpected" not in out.stderr
    under = _kb("status", data_dir=blocker / "sub")
    assert under.returncode == 2 and "is a file" in under.stderr


def test_debug_prints_the_error_and_a_traceback(tmp_path: Path) -> None:
    out = _kb("--debug", "search", "vpn", data_dir=tmp_path / "empty")
    assert out.returncode != 0
    assert "Traceback" in out.stderr and "error:" in out.stderr, out.stderr


def test_a_killed_run_shows_as_interrupted(tiny_kb: Any) -> None:
    from ingest.storage.ledger import Ledger

    with Ledger(tiny_kb.data_dir) as ledger:
        ledger.start_run("ingest")  # what a kill -9 leaves: 'running', and no lock held
    out = _kb("status", "--json", data_dir=tiny_kb.data_dir)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["last_run"]["status"] == "interrupted"
