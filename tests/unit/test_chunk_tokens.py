"""ingest.text.tokens: the fast word-piece counter agrees with the `tokenizers` library."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.text.clean import clean
from ingest.text.tokens import window_counter
from tests.helpers import FIXTURES

FAST, EXACT = window_counter(), window_counter(exact=True)


def test_same_counts_as_the_library_on_cleaned_fixtures_and_markup() -> None:
    texts = ["", " ", "Hello, World!", "naïve café — déjà vu", "北京欢迎你 and 東京", "x" * 150,
             "[CLS] and [SEP] inside", "tab\tnew\nline\r\x0bvt\x1csep\x85nel", "emoji 😀👍🏽 ok",
             "İstanbul ǅ"]
    for path in sorted(FIXTURES.glob("*.xml")):
        body = path.read_text()
        texts.append(body)
        texts += [b.text for b in clean(body)]
    for text in texts:
        assert FAST(text) >= EXACT(text), text
        if "[CLS]" not in text:  # the library matches special tokens in raw text: one token, not three
            assert FAST(text) == EXACT(text), text


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
def test_never_fewer_than_the_library(text: str) -> None:
    assert FAST(text) >= EXACT(text)


def test_never_fewer_on_code_points_whose_tables_differ() -> None:
    from ingest.text.tokens import _NEWER_RANGES

    points = [cp for lo, hi in _NEWER_RANGES for cp in range(lo, hi + 1)]
    points += list(range(0x20, 0x3000, 7)) + list(range(0x1CF00, 0x1CF50))  # a spread + a recent block
    for cp in points:
        text = f"a{chr(cp)}b {chr(cp)}"
        assert FAST(text) >= EXACT(text), hex(cp)


def test_not_capped_by_the_shipped_truncation() -> None:
    assert FAST("word " * 1000) == EXACT("word " * 1000) == 1002
