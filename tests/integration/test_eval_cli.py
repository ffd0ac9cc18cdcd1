"""`kb eval` on the tiny knowledge base: --no-answer, progress on stderr in every mode, nDCG@10."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from retrieval.query.evaluate import KEYS
from tests.helpers import TINY_QA


def _qa(tmp_path, rows):
    qa = tmp_path / "qa.jsonl"
    qa.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return str(qa)


def test_eval_no_answer_json_keeps_stdout_one_object_and_reports_progress(tiny_kb, tmp_path, monkeypatch):
    from retrieval.cli import STATE, app

    monkeypatch.setattr(STATE, "_settings", tiny_kb)
    qa = _qa(tmp_path, TINY_QA * 7)  # 28 questions: a progress line at 25 and one at the end
    res = CliRunner().invoke(app, ["eval", "--qa", qa, "--mode", "lexical", "--no-answer", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)  # stdout is the one object, nothing else
    assert list(out) == list(KEYS) and out["answer_hit"] is None and out["questions"] == 28
    assert 0 < out["ndcg@10"] <= 1 and out["recall@10"] == 0.75
    assert "25/28 questions" in res.stderr and "28/28 questions" in res.stderr

    res = CliRunner().invoke(app, ["eval", "--qa", qa, "--mode", "lexical", "--limit", "4"])
    assert res.exit_code == 0, res.output
    assert "4/4 questions" in res.stderr and "ndcg@10" in res.stdout
    assert "answer_hit" in res.stdout and "not measured" not in res.stdout  # answers were scored


def test_eval_graded_qrels_score_pages(tiny_kb, tmp_path, monkeypatch):
    from retrieval.cli import STATE, app

    monkeypatch.setattr(STATE, "_settings", tiny_kb)
    rows = [{"question": "ERR-4012 registry token expired renew", "gold": {"101": 2, "999": 1}},
            {"question": "who wrote the zebra manifesto", "gold": {"999": 1}}]
    res = CliRunner().invoke(app, ["eval", "--qa", _qa(tmp_path, rows), "--mode", "lexical",
                                   "--no-answer"])
    assert res.exit_code == 0, res.output
    assert "not measured (--no-answer)" in res.stdout
    ndcg_line = next(line for line in res.stdout.splitlines() if "ndcg@10" in line)
    # question 1: page 101 first (gain 2), 999 absent -> 2 / (2 + 1/log2 3) ~ 0.76; question 2: 0
    assert 0.3 < float(ndcg_line.split()[-1]) < 0.4
