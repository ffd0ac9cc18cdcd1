"""`kb inspect`: a page's cleaned blocks and chunks with both token counts, from a file or the ledger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ingest.records import Ancestor, Page
from ingest.storage.ledger import Ledger
from tests.helpers import FIXTURES


def kb(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KB_DATA__DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-c", "from retrieval.cli import main; main()", *args],
                          capture_output=True, text=True, cwd=data_dir, env=env, timeout=120)


def test_inspect_a_file_as_json(tmp_path: Path) -> None:
    out = kb("inspect", "--file", str(FIXTURES / "macros.xml"), "--json", data_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["page"]["id"] == "macros"
    assert any(b["kind"] == "code" and b["text"].startswith("```python") for b in data["blocks"])
    assert data["chunks"] and data["problems"] == []
    for c in data["chunks"]:
        assert c["tokens"] <= data["budgets"]["chunk_tokens"]
        assert 0 < c["window"] <= data["budgets"]["window_tokens"] == 256


def test_inspect_a_ledger_page_with_its_users(tmp_path: Path) -> None:
    body = (FIXTURES / "links.xml").read_text()
    page = Page("9001", "page", "OPS", "On-call", "https://wiki.example.com/9001", 4, "2024-05-01T00:00:00Z",
                body_html=body, space_name="Operations", ancestors=(Ancestor("1", "Runbooks"),))
    with Ledger(tmp_path) as ledger:
        ledger.upsert_page(page, None)
        ledger.set_meta("users", json.dumps({"557058:aaaa-bbbb": "Dana Reyes"}))
    out = kb("inspect", "9001", data_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "page 9001 'On-call' (OPS, v4" in out.stdout
    assert "Owner: Dana Reyes, backup (unknown user)" in out.stdout
    assert "[9001:0]" in out.stdout and "Operations › Runbooks › On-call" in out.stdout
    missing = kb("inspect", "404", data_dir=tmp_path)
    assert missing.returncode != 0 and "page 404 is not in the ledger" in missing.stderr


