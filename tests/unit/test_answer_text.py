"""Answer text without a knowledge base: sentence splitting and citation checks."""

from __future__ import annotations

from retrieval.query.answer import split_sentences, validate_citations


def test_split_sentences_handles_lists_code_and_short_bits():
    text = ("First sentence is here. Second one follows!\n- a list item with words\n"
            "```bash\nmake it so now\n```\nok")
    assert split_sentences(text) == ["First sentence is here.", "Second one follows!",
                                     "a list item with words", "make it so now"]


def test_validate_citations():
    assert validate_citations("a [2] b [5] c [2,1].", 3) == ("a [1] b c [1][2].", [2, 1])
    assert validate_citations("none here", 3) == ("none here", [])
