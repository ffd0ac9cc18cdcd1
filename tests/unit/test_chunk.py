"""ingest.text.chunk: sections, splitting, overlap, tiny-section merges, both budgets, ids and hashes."""

from __future__ import annotations

import itertools

import pytest

from ingest.config import ChunkSettings
from ingest.records import Ancestor, Block, Page, sha256
from ingest.text.chunk import Chunker, check_budgets, tiktoken_counter, window_counter, window_size
from ingest.text.clean import clean
from tests.helpers import FIXTURES

PAGE = Page("42", "page", "ENG", "Billing", "https://wiki.example.com/42", 3, "2024-01-01T00:00:00Z",
            space_name="Engineering", ancestors=(Ancestor("1", "Services"), Ancestor("2", "Payments")))


def words(text: str) -> int:
    return len(text.split())


def chunker(chunk_tokens: int = 40, overlap: int = 0, min_section: int = 0,
            window: int | None = None) -> Chunker:
    return Chunker(ChunkSettings(chunk_tokens=max(chunk_tokens, 32), overlap_tokens=overlap,
                                 min_section_tokens=min_section),
                   count_tokens=words, window_tokens=window, count_window=words if window else None)


def sentence(i: int, n: int = 9) -> str:
    return " ".join(f"w{i}x{j}" for j in range(n - 1)) + f" end{i}."


def test_header_is_space_ancestors_title_heading_path() -> None:
    c = chunker().chunk(PAGE, [Block("text", "hello there", ("Deploy", "Rollback"))])
    assert [ch.header for ch in c] == ["Engineering › Services › Payments › Billing › Deploy › Rollback"]
    no_name = Page("7", "blogpost", "OPS", "Notes", "", 1, "")
    assert chunker().chunk(no_name, [Block("text", "x")])[0].header == "OPS › Notes"


def test_ids_hashes_and_token_counts() -> None:
    c = chunker(chunk_tokens=32).chunk(PAGE, [Block("text", " ".join(sentence(i) for i in range(8)))])
    assert [ch.id for ch in c] == [f"42:{i}" for i in range(len(c))] and len(c) > 1
    for ch in c:
        assert ch.page_id == "42"
        # what is embedded (and hashed) is the page title and the text; the header is not
        assert ch.embed_title == PAGE.title and ch.embed_text == f"{PAGE.title}\n{ch.text}"
        assert ch.text_hash == sha256(f"{PAGE.title}\n{ch.text}")
        assert ch.tokens == words(ch.text)


def test_sections_stay_apart_unless_tiny() -> None:
    big = " ".join(sentence(i) for i in range(4))  # 36 words
    blocks = [Block("text", big, ("A",)), Block("text", big, ("B",))]
    c = chunker(chunk_tokens=100, min_section=10).chunk(PAGE, blocks)
    assert [ch.heading_path for ch in c] == [("A",), ("B",)]
    tiny = [Block("text", "short intro", ("A",)), Block("text", "tiny", ("A", "B")),
            Block("text", big, ("C",))]
    c = chunker(chunk_tokens=100, min_section=10).chunk(PAGE, tiny)
    # tiny sections merge with their neighbours while the budget allows; each keeps its heading
    # as a line, and the chunk's heading path is what they share
    assert len(c) == 1 and c[0].heading_path == ()
    assert c[0].text == f"A\nshort intro\n\nA › B\ntiny\n\nC\n{big}"
    assert c[0].header == "Engineering › Services › Payments › Billing"
    c = chunker(chunk_tokens=40, min_section=10).chunk(PAGE, tiny)  # no room for the big one
    assert [ch.heading_path for ch in c] == [("A",), ("C",)]
    assert c[0].text == "short intro\n\nB\ntiny"
    c = chunker(chunk_tokens=100, min_section=0).chunk(PAGE, tiny)
    assert [ch.heading_path for ch in c] == [("A",), ("A", "B"), ("C",)]


def test_split_at_paragraph_then_sentence_never_mid_word() -> None:
    paragraphs = [Block("text", " ".join(sentence(i * 10 + k) for k in range(3))) for i in range(3)]
    c = chunker(chunk_tokens=32).chunk(PAGE, paragraphs)
    assert [ch.text for ch in c] == [b.text for b in paragraphs]  # 27 words each: one per chunk
    long = Block("text", " ".join(sentence(i) for i in range(10)))
    c = chunker(chunk_tokens=32).chunk(PAGE, [long])
    assert all(ch.text.endswith(".") for ch in c)  # sentence bounds
    original = long.text.split()
    assert [w for ch in c for w in ch.text.split()] == original  # nothing lost, no word cut
    one_sentence = Block("text", " ".join(f"word{i}" for i in range(100)))
    c = chunker(chunk_tokens=32).chunk(PAGE, [one_sentence])
    assert [w for ch in c for w in ch.text.split()] == one_sentence.text.split()
    assert max(words(ch.text) for ch in c) <= 32


def test_overlap_repeats_the_end_of_the_previous_chunk() -> None:
    long = Block("text", " ".join(sentence(i) for i in range(10)))
    c = chunker(chunk_tokens=32, overlap=6).chunk(PAGE, [long])
    assert len(c) > 2
    for a, b in itertools.pairwise(c):
        tail = a.text.split()[-6:]
        assert b.text.split()[:6] == tail
    assert check_budgets(c, chunk_tokens=32, count_tokens=words) == []


def test_table_header_repeats_and_code_keeps_its_fence() -> None:
    rows = "\n".join(f"Plan: p{i}; Limit: {i * 10}" for i in range(30))
    table = Block("table", rows, ("Limits",), table_header="Plan | Limit")
    c = chunker(chunk_tokens=32).chunk(PAGE, [table])
    assert len(c) > 2
    assert all(ch.text.startswith("Plan | Limit\n") for ch in c)
    assert [line for ch in c for line in ch.text.split("\n")[1:]] == rows.split("\n")
    code = Block("code", "```python\n" + "\n".join(f"x{i} = {i}" for i in range(40)) + "\n```")
    c = chunker(chunk_tokens=32).chunk(PAGE, [code])
    assert len(c) > 1
    assert all(ch.text.startswith("```python\n") and ch.text.endswith("\n```") for ch in c)


def test_window_budget_holds_with_a_long_header() -> None:
    deep = Page("9", "page", "ENG", "Title " * 10, "", 1, "",
                ancestors=tuple(Ancestor(str(i), f"Ancestor number {i}") for i in range(30)))
    body = [Block("text", " ".join(sentence(i) for i in range(30)), ("Section",))]
    ch = chunker(chunk_tokens=200, window=64)
    c = ch.chunk(deep, body)
    assert ch.check(c) == []
    assert words(c[0].header) <= 32 and "…" in c[0].header  # shortened to half the window at most
    assert [w for x in c for w in x.text.split()] == body[0].text.split()


def test_an_unbreakable_run_is_cut_only_because_it_must_be() -> None:
    blob = Block("text", "start " + "x" * 5000 + " end")
    ch = Chunker(ChunkSettings(chunk_tokens=64, overlap_tokens=0), count_tokens=len)  # chars as tokens
    c = ch.chunk(PAGE, [blob])
    assert ch.check(c) == []
    assert "".join(x.text.replace(" ", "") for x in c) == blob.text.replace(" ", "")


def test_fingerprint_is_stable_and_tracks_settings() -> None:
    a, b = chunker(window=64).fingerprint(), chunker(window=64).fingerprint()
    assert a == b and len(a) == 16
    assert chunker(window=128).fingerprint() != a
    assert chunker(chunk_tokens=64, window=64).fingerprint() != a
    assert chunker(overlap=4, window=64).fingerprint() != a


def test_same_input_same_chunks() -> None:
    blocks = clean((FIXTURES / "structure.xml").read_text()) + clean((FIXTURES / "tables.xml").read_text())
    one = chunker(chunk_tokens=32, overlap=4, min_section=8, window=48).chunk(PAGE, blocks)
    two = chunker(chunk_tokens=32, overlap=4, min_section=8, window=48).chunk(PAGE, list(blocks))
    assert one == two


def test_empty_and_blank_blocks_give_no_chunks() -> None:
    assert chunker().chunk(PAGE, []) == []
    assert chunker().chunk(PAGE, [Block("text", "  \n ")]) == []


def test_real_counters_on_every_fixture() -> None:
    """tiktoken for the LLM budget and the bundled model's tokenizer for the window."""
    count_window = window_counter()
    assert window_size() == 256
    long = "tokenization " * 400
    assert count_window(long) > 400  # truncation (128 in tokenizer.json) is off
    assert count_window("") == 2     # [CLS] and [SEP]
    ch = Chunker(ChunkSettings(), count_tokens=tiktoken_counter(), window_tokens=256,
                 count_window=count_window)
    for path in sorted(FIXTURES.glob("*.xml")):
        blocks = clean(path.read_text())
        chunks = ch.chunk(PAGE, [*blocks, Block("text", long, ("Long",))])
        assert ch.check(chunks) == [], path.name
        assert all(count_window(c.embed_text) <= 256 for c in chunks)


@pytest.mark.parametrize("settings", [ChunkSettings(), ChunkSettings(chunk_tokens=32, overlap_tokens=31)])
def test_default_counter_is_tiktoken(settings: ChunkSettings) -> None:
    ch = Chunker(settings)
    c = ch.chunk(PAGE, clean((FIXTURES / "macros.xml").read_text()))
    assert c and ch.check(c) == []


def test_a_long_sentence_is_split_within_budgets_quickly() -> None:
    import time

    text = "token " * 50_000
    ch = Chunker(ChunkSettings(), window_tokens=256, count_window=window_counter())
    start = time.process_time()
    chunks = ch.chunk(PAGE, [Block("text", text.strip())])
    assert ch.check(chunks) == []
    assert sum(len(c.text.split()) for c in chunks) >= 50_000
    assert time.process_time() - start < 20  # was quadratic: minutes
