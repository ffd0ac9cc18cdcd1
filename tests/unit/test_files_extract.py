"""Attachment extraction: each type to headings, paragraphs and tables (header repeated by the cleaner);
the bad cases raise Skipped with a reason; the character cap holds."""

from __future__ import annotations

import pytest

from ingest.text.clean import clean
from ingest.text.files import Skipped, extract, kind_of
from tools.sample_space.files import BAD, make_file


def test_tables_keep_their_header_and_text_types_their_words() -> None:
    _, body = extract(
        make_file("xlsx", {"sheets": {"Rota": [["Week", "Who"], [1, "Ann"], [2, "Bo"]]}}), "r.xlsx"
    )
    blocks = clean(body)
    assert blocks[0].kind == "table" and blocks[0].table_header and "Week: 2; Who: Bo" in blocks[0].text
    assert blocks[0].heading_path == ("Rota",)
    _, body = extract(make_file("pdf", {"lines": ["alpha beta", "gamma"]}), "x.pdf")
    assert "alpha beta" in body and "gamma" in body
    _, body = extract(make_file("md", {"text": "# Top\n\nwords here"}), "x.md")
    assert [(b.heading_path, b.text) for b in clean(body)] == [(("Top",), "words here")]


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_are_skipped_with_a_reason(name: str) -> None:
    maker, why = BAD[name]
    with pytest.raises(Skipped, match=why.split()[0]):
        extract(maker(), name)


def test_caps_and_kinds() -> None:
    text = "\n\n".join(f"paragraph {i} " + "word " * 50 for i in range(100))
    _, body = extract(text.encode(), "big.txt", max_chars=1000)
    assert 900 <= len(body) < 1100 and body.startswith("<p>paragraph 0")
    assert kind_of("A.PDF") == "pdf" and kind_of("noext", "text/csv") == "csv" and kind_of("x.exe") == ""
