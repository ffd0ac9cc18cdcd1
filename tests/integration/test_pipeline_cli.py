"""The `kb ingest / status / reindex` commands in a subprocess, with the real bundled model."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ingest.config import load_settings
from ingest.index.embed import load_embedder
from ingest.index.gate import open_store
from tests.helpers import ROOT


def _kb(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ROOT / ".venv" / "bin" / "kb"), *args], env=env, capture_output=True,
                          text=True, timeout=600, cwd=env["KB_DATA__DIR"])


@pytest.mark.slow
def test_kb_ingest_status_reindex_with_the_real_model(emulator_factory: Any, tmp_path: Path) -> None:
    emu = emulator_factory(sample=False, pages=8, seed=5)
    conf = emu.confluence_settings()
    data = tmp_path / "kb"
    data.mkdir()
    env = {**os.environ, "KB_DATA__DIR": str(data), "KB_CONFLUENCE__DOMAIN_NAME": conf["domain_name"],
           "KB_CONFLUENCE__EMAIL": conf["email"], "KB_CONFLUENCE__API_TOKEN": conf["api_token"],
           "KB_CONFLUENCE__CA_BUNDLE": conf["ca_bundle"], "KB_CONFLUENCE__SCHEME": conf["scheme"]}
    first = _kb(["ingest", "--json"], env)
    assert first.returncode == 0, first.stderr[-2000:]
    report = json.loads(first.stdout)  # exactly one JSON object on stdout
    assert report["pages"]["new"] == 8 and report["chunks"]["embedded"] == report["chunks"]["written"] > 8
    second = _kb(["ingest"], env)
    assert second.returncode == 0 and "embedded=0" in second.stdout and "unchanged=8" in second.stdout
    status = json.loads(_kb(["status", "--json"], env).stdout)
    assert status["pages"] == 8 and status["chunks"] == report["chunks"]["written"]
    assert status["active_collection"] and status["last_run"]["kind"] == "ingest"
    re = _kb(["reindex", "--json"], env)
    assert re.returncode == 0, re.stderr[-2000:]
    rebuilt = json.loads(re.stdout)
    assert rebuilt["chunks"]["embedded"] == 0 and rebuilt["new_collection"] != status["active_collection"]

    settings = load_settings(data={"dir": str(data)})
    model = load_embedder(settings)
    store = open_store(settings, model, create=False)
    assert store.count() == status["chunks"] and store.metadata["dimensions"] == 384
    some = next(iter(store.iter_all(batch=5)))[2]
    # top 10: this page ("Engineering Home", few words) sits 5th at 0.0754 against 0.0749 for the 6th
    # under fp32; bf16 (the "auto" backend here, mean cosine 0.99996 on this query) swaps that tie
    hits = store.query(model.embed_query(some["title"]), 10)
    assert some["page_id"] in {h.metadata["page_id"] for h in hits}


@pytest.mark.slow
def test_kb_ingest_names_the_model_mismatch_and_reindex_fixes_it(emulator_factory: Any,
                                                                  tmp_path: Path) -> None:
    from ingest.index.embed import FakeEmbedder

    emu = emulator_factory(sample=False, pages=3, seed=2)
    conf = emu.confluence_settings()
    data = tmp_path / "kb"
    settings = load_settings(data={"dir": str(data)})
    open_store(settings, FakeEmbedder())  # an index built by another model
    env = {**os.environ, "KB_DATA__DIR": str(data), "KB_CONFLUENCE__DOMAIN_NAME": conf["domain_name"],
           "KB_CONFLUENCE__EMAIL": conf["email"], "KB_CONFLUENCE__API_TOKEN": conf["api_token"],
           "KB_CONFLUENCE__CA_BUNDLE": conf["ca_bundle"], "KB_CONFLUENCE__SCHEME": conf["scheme"]}
    refused = _kb(["ingest"], env)
    assert refused.returncode == 5, refused.stderr[-1500:]
    assert "error: the index" in refused.stderr and "kb reindex" in refused.stderr
    assert "Traceback" not in refused.stderr
    fixed = _kb(["reindex", "--json"], env)
    assert fixed.returncode == 0, fixed.stderr[-1500:]
    assert json.loads(fixed.stdout)["pages"]["new"] == 3  # the pages the refused run pulled
    again = _kb(["ingest", "--json"], env)
    assert again.returncode == 0 and json.loads(again.stdout)["chunks"]["embedded"] == 0
