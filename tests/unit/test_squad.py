"""The SQuAD v1.1 -> corpus + QA converter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from emulator.corpus import read_corpus, read_jsonl
from emulator.squad import convert, main, page_id
from tests.helpers import shared_path


def _text(body: str) -> str:
    return "".join(etree.fromstring(f"<root>{body}</root>".encode()).itertext())


def _tiny(tmp_path: Path) -> Path:
    data = {"version": "1.1", "data": [
        {"title": "Fish_&_Chips", "paragraphs": [
            {"context": f"Paragraph {n} says <b> & {n * 7} fish.\x0b", "qas": [
                {"id": f"q{n}", "question": f" How many fish in paragraph {n}? ",
                 "answers": [{"text": f"{n * 7} fish", "answer_start": 0},
                             {"text": f"{n * 7} fish", "answer_start": 0},
                             {"text": f"{n * 7}", "answer_start": 0}]}]}
            for n in range(1, 8)]},
        {"title": "Second", "paragraphs": [{"context": "Only one.", "qas": []}]},
    ]}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_convert_tiny_file(tmp_path: Path) -> None:
    corpus_path, qa_path = convert(_tiny(tmp_path), tmp_path / "out", paragraphs_per_section=3)
    pages = list(read_corpus(corpus_path))
    assert [p["title"] for p in pages] == ["Fish & Chips", "Second"]
    assert [p["id"] for p in pages] == [page_id(0), page_id(1)] and all(p["id"].isdigit() for p in pages)
    assert all(p["space"] == "SQUAD" and p["type"] == "page" and "parent_id" not in p for p in pages)
    body = pages[0]["body"]
    assert body.count("<h2>") == 3 and body.count("<p>") == 7  # 7 paragraphs, an h2 every 3
    assert body.startswith("<h2>Fish &amp; Chips: part 1</h2><p>Paragraph 1 says &lt;b&gt; &amp; 7 fish.")
    assert "\x0b" not in body and "Paragraph 3 says <b> & 21 fish." in _text(body)
    questions = list(read_jsonl(qa_path))
    assert len(questions) == 7
    assert questions[0] == {"question": "How many fish in paragraph 1?", "answers": ["7 fish", "7"],
                            "gold": [page_id(0)]}
    # RUF015 silenced: list() parses every line of spaces.jsonl (a bad later line fails the test) and
    # closes the file; next() would read only the first line and leave the generator open
    assert list(read_jsonl(corpus_path.with_name("spaces.jsonl")))[0]["key"] == "SQUAD"  # noqa: RUF015


def test_convert_limit_and_section_size(tmp_path: Path) -> None:
    corpus_path, _qa_path = convert(_tiny(tmp_path), tmp_path / "out", paragraphs_per_section=1, limit=1)
    pages = list(read_corpus(corpus_path))
    assert len(pages) == 1 and pages[0]["body"].count("<h2>") == 7
    with pytest.raises(ValueError):
        convert(_tiny(tmp_path), tmp_path / "bad", paragraphs_per_section=0)


def test_convert_is_deterministic(tmp_path: Path) -> None:
    a = convert(_tiny(tmp_path), tmp_path / "a")
    b = convert(_tiny(tmp_path), tmp_path / "b")
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(_tiny(tmp_path)), str(tmp_path / "cli"), "--limit", "2"]) == 0
    assert "wrote 2 pages" in capsys.readouterr().out
    assert main([str(tmp_path / "missing.json"), str(tmp_path / "cli2")]) == 1
    assert "cannot convert" in capsys.readouterr().err


def test_convert_shared_squad_tune_split(tmp_path: Path) -> None:
    source = shared_path("data", "squad", "dev-v1.1-tune.json")
    raw = json.loads(source.read_text(encoding="utf-8"))["data"]
    corpus_path, qa_path = convert(source, tmp_path)
    pages = {p["id"]: p for p in read_corpus(corpus_path)}
    questions = list(read_jsonl(qa_path))
    assert len(pages) == len(raw) == 24
    assert len(questions) == sum(len(par["qas"]) for art in raw for par in art["paragraphs"]) == 5397
    paragraphs = sum(len(art["paragraphs"]) for art in raw)
    assert sum(p["body"].count("<p>") for p in pages.values()) == paragraphs
    assert pages[page_id(0)]["title"] == "Super Bowl 50"
    texts = {pid: _text(p["body"]) for pid, p in pages.items()}
    for q in questions:
        assert q["answers"] and len(set(q["answers"])) == len(q["answers"])
        assert all(a in texts[q["gold"][0]] for a in q["answers"]), q
