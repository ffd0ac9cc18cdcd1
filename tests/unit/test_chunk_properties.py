"""Property tests (hypothesis) for clean and chunk, with cheap counters (words, characters)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.config import ChunkSettings
from ingest.records import Block, Page
from ingest.text.chunk import Chunker, check_budgets
from ingest.text.clean import clean
from tests.helpers import FIXTURES

PAGE = Page("p1", "page", "SP", "Page title", "", 1, "", ancestors=())
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FRAGMENTS = ["<p>", "</p>", "<h2>", "</h2>", "<ul>", "<li>", "</li>", "</ul>", "<table>", "<tr>",
             "<th>", "<td>", "</td>", "</table>", "<br/>", "<br>", "&", "&nbsp;", "&amp;", "&#0;", "&bogus;",
             "<", ">", "/>", "<![CDATA[", "]]>", "]]]]><![CDATA[>", '<ac:structured-macro ac:name="code">',
             '<ac:structured-macro ac:name="info">', "<ac:rich-text-body>", "</ac:rich-text-body>",
             '<ac:parameter ac:name="title">', "</ac:parameter>", "<ac:plain-text-body>",
             "</ac:structured-macro>", '<ri:user ri:account-id="id-1"/>', "<ac:link>", "</ac:link>",
             '<ri:page ri:content-title="T"/>', "<ac:task-list><ac:task><ac:task-body>", "<foo:bar>",
             "<ac:layout-cell>", "<!--", "-->", "<?xml ?>", "\x00", "\ud800", "é", "word", " ", "\n"]

garbled = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=60).map("".join)
word = st.text(alphabet="abcdefghij", min_size=1, max_size=8)
sentence = st.lists(word, min_size=1, max_size=12).map(lambda ws: " ".join(ws) + ".")
paragraph = st.lists(sentence, min_size=1, max_size=5).map(" ".join)
path = st.lists(st.sampled_from(["Intro", "Setup", "Usage", "Faq"]), max_size=3).map(tuple)


@st.composite
def block(draw: st.DrawFn) -> Block:
    kind = draw(st.sampled_from(["text", "text", "list", "table", "code"]))
    heading = draw(path)
    if kind == "table":
        rows = draw(st.lists(paragraph, min_size=1, max_size=8))
        return Block("table", "\n".join(rows), heading, draw(st.sampled_from(["", "Col a | Col b"])))
    if kind == "code":
        lines = draw(st.lists(paragraph, min_size=1, max_size=6))
        return Block("code", "```py\n" + "\n".join(lines) + "\n```", heading)
    if kind == "list":
        return Block("list", "\n".join("- " + p for p in draw(st.lists(paragraph, min_size=1, max_size=6))),
                     heading)
    return Block("text", "\n".join(draw(st.lists(paragraph, min_size=1, max_size=3))), heading)


chunk_settings = st.builds(ChunkSettings, chunk_tokens=st.integers(32, 90), overlap_tokens=st.integers(0, 24),
                           min_section_tokens=st.integers(0, 30))
windows = st.one_of(st.none(), st.integers(40, 150))


def words(text: str) -> int:
    return len(text.split())


def is_subsequence(needle: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(any(w == h for h in it) for w in needle)


@FAST
@given(garbled)
def test_garbled_xhtml_never_raises(body: str) -> None:
    for b in clean(body):
        assert (b.text and b.text == b.text.strip(" \n")) or b.kind == "code"


@FAST
@given(st.sampled_from(sorted(FIXTURES.glob("*.xml"))), st.integers(0, 10_000), st.integers(0, 400),
       st.sampled_from([*FRAGMENTS, "", "<p>unclosed", "</ac:rich-text-body></ac:structured-macro>"]))
def test_damaged_fixtures_never_raise(path: Path, at: int, cut: int, insert: str) -> None:
    body = path.read_text()
    at %= len(body) + 1
    damaged = body[:at] + insert + body[at + cut:]
    assert isinstance(clean(damaged), list)
    cut_byte = damaged.encode("utf-8", "surrogatepass")[: max(len(damaged) - 1, 0)]
    assert isinstance(clean(cut_byte), list)


@FAST
@given(st.lists(block(), max_size=12), chunk_settings, windows)
def test_chunks_cover_the_text_in_order_within_both_budgets(blocks: list[Block], cs: ChunkSettings,
                                                            window: int | None) -> None:
    chunker = Chunker(cs, count_tokens=words, window_tokens=window, count_window=words)
    chunks = chunker.chunk(PAGE, blocks)
    assert check_budgets(chunks, chunk_tokens=cs.chunk_tokens, count_tokens=words,
                         window_tokens=window, count_window=words) == []
    cleaned = [w for b in blocks for w in b.text.split()]
    emitted = [w for c in chunks for w in c.text.split()]
    assert is_subsequence(cleaned, emitted)
    assert [c.id for c in chunks] == [f"p1:{i}" for i in range(len(chunks))]
    assert chunker.chunk(PAGE, list(blocks)) == chunks  # same input, same chunks and hashes


@FAST
@given(st.lists(st.tuples(paragraph, path), max_size=10), st.integers(32, 80))
def test_without_overlap_or_merges_text_is_kept_exactly(parts: list[tuple[str, tuple[str, ...]]],
                                                         budget: int) -> None:
    blocks = [Block("text", p, h) for p, h in parts]
    chunker = Chunker(ChunkSettings(chunk_tokens=budget, overlap_tokens=0, min_section_tokens=0),
                      count_tokens=words)
    chunks = chunker.chunk(PAGE, blocks)
    assert [w for c in chunks for w in c.text.split()] == [w for b in blocks for w in b.text.split()]
    def runs(paths: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
        return [p for i, p in enumerate(paths) if i == 0 or p != paths[i - 1]]

    assert runs([c.heading_path for c in chunks]) == runs([b.heading_path for b in blocks])


@FAST
@given(st.text(alphabet="ab \n.", max_size=600), st.integers(32, 60))
def test_character_budgets_hold_even_for_unbreakable_runs(text: str, budget: int) -> None:
    chunker = Chunker(ChunkSettings(chunk_tokens=budget, overlap_tokens=5), count_tokens=len)
    chunks = chunker.chunk(PAGE, [Block("text", text)])
    assert chunker.check(chunks) == []
    assert is_subsequence(list("".join(text.split())), list("".join("".join(c.text for c in chunks).split())))
