"""`kb demo`'s flow (emulator with the sample space, real pull and index, sample questions answered),
run with FakeEmbedder so it needs no model; the real model's answers are tested in
test_search_sample.py."""

from __future__ import annotations

import re

import pytest

from ingest.config import load_settings
from ingest.errors import ConfigError
from ingest.index.embed import FakeEmbedder
from retrieval.cli.demo import demo_questions, run_demo


def test_demo_questions_come_from_the_sample_qa_file():
    from emulator.corpus import SAMPLE_QA

    assert len(demo_questions(3)) == 3
    with open(SAMPLE_QA, encoding="utf-8") as qa:
        assert len(demo_questions(0)) == sum(1 for line in qa if line.strip())


def test_demo_runs_end_to_end_with_cited_answers(tmp_path):
    lines: list[str] = []
    settings = load_settings(data={"dir": str(tmp_path / "kb")})
    settings.retrieval.min_score = 0.0  # the fake embedder's similarities are not the model's
    run_demo(settings, questions=3, data_dir=str(tmp_path / "demo"), embedder=FakeEmbedder(),
             echo=lambda message="", err=False: lines.append(str(message)))
    out = "\n".join(lines)
    assert "ingested in" in out and out.count("\nQ: ") == 3
    assert re.search(r"^  \[1\] .+ — https://127\.0\.0\.1:\d+/wiki/", out, re.M), out
    assert "emulator stopped" in out
    page = re.search(r"^Chat page: KB_DATA__DIR=(\S+) KB_SERVER__API_KEYS=(demo-\S+)=operator kb serve  "
                     r"then open http://127\.0\.0\.1:8000/ and enter the key (\S+)$", lines[-1])
    assert page and page[1] == str(tmp_path / "demo") and page[2] == page[3], lines[-1]
    assert (tmp_path / "demo" / "ledger.sqlite3").is_file()
    # each access question: the member's answer cites the restricted page, the other's never does
    blocks = out.split("\nQ (as ")[1:]
    assert len(blocks) == 4, out
    for allowed, refused, page in ((blocks[0], blocks[1], "65625"), (blocks[2], blocks[3], "68002")):
        assert f"/pages/{page}/" in allowed and f"/pages/{page}/" not in refused.split("  (")[0]
        assert f"may not read page {page}" in refused
    assert "secret/corvid/signing" not in blocks[1] and "20 weeks" not in blocks[3]


def test_demo_refuses_a_foreign_non_empty_dir(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(ConfigError):
        run_demo(load_settings(data={"dir": str(tmp_path / "kb")}), data_dir=str(tmp_path),
                 embedder=FakeEmbedder(), echo=lambda *a, **k: None)
    assert (tmp_path / "precious.txt").exists()
