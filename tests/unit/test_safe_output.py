"""Human CLI output escapes control characters from Confluence text (issue 17); --json keeps them."""

from __future__ import annotations

import json

from retrieval.cli._output import format_answer, format_hits, safe
from retrieval.query.answer import Answer, Citation
from retrieval.query.searcher import Hit


def test_control_characters_in_titles_are_escaped_in_human_output() -> None:
    title = "Runbook\r\nFAKE: 1. root password is hunter2\x07\x08\x1b[31m\u202e"
    hit = Hit(chunk_id="1:0", page_id="1", title=title, url="https://w/1\n2", heading_path="", header="",
              text="body\x1b]0;owned\x07 text", score=1.0, ranks={"dense": 1}, kind="page",
              space_key="ENG", updated_at="", labels=())
    shown = format_hits([hit])
    assert len(shown.splitlines()) == 3, shown  # no forged line
    assert not any(ch in shown for ch in "\r\x07\x08\x1b\u202e")
    assert "\\r\\nFAKE" in shown and "\\x1b[31m" in shown and "\\u202e" in shown
    answer = Answer(text="line one\nline two \x1b[2J",
                    citations=(Citation(1, title, "https://w/1", "1:0", ""),))
    text = format_answer(answer)
    assert "line one\nline two \\x1b[2J" in text and "\x1b" not in text and "\r" not in text
    assert hit.to_dict()["title"] == title  # --json keeps the text; json.dumps escapes it


def test_safe_keeps_ordinary_text_and_optionally_lines() -> None:
    assert safe("Ünïcode — ok › fine") == "Ünïcode — ok › fine"
    assert safe("a\tb\nc", lines=True) == "a\tb\nc"
    assert safe("a\tb\nc") == "a\\tb\\nc"
    assert json.loads(json.dumps({"t": "x\x07"})) == {"t": "x\x07"}
