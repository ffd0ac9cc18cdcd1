"""Bounded pages (issue 17): a page is indexed up to max_page_tokens and max_chunks_per_page,
near-duplicate chunks of one page collapse, an empty page still gets its title chunk."""

from __future__ import annotations

import time

from ingest.config import ChunkSettings
from ingest.records import Block, Page
from ingest.text._bound import cap_blocks, collapse
from ingest.text.chunk import Chunker
from ingest.text.tokens import tiktoken_counter

PAGE = Page(id="77", kind="page", space_key="ENG", title="Kafka sink runbook", url="https://w/77",
            version=1, updated_at="2024-01-01T00:00:00Z", space_name="Engineering", body_html="x" * 1000)


def words(text: str) -> int:
    return len(text.split())


def test_a_megabyte_of_one_word_is_capped_collapsed_and_reported() -> None:
    text = " ".join(["kafka"] * 200_000)  # 1.2 MB
    page = Page(**{**PAGE.__dict__, "body_html": f"<p>{text}</p>"})
    chunker = Chunker(ChunkSettings(), count_tokens=tiktoken_counter())
    started = time.process_time()
    chunks, notes = chunker.chunk_with_notes(page, [Block("text", text)])
    assert time.process_time() - started < 10
    assert len(chunks) <= 3, [c.text[:40] for c in chunks]  # two copies, and the shorter last one
    assert any("max_page_tokens" in n and "77" in n and "bytes" in n for n in notes), notes
    assert any("near-duplicate" in n for n in notes), notes
    assert [c.id for c in chunks] == [f"77:{i}" for i in range(len(chunks))]


def test_near_identical_paragraphs_collapse() -> None:
    para = ("The ingestion worker copies the nightly export into the staging bucket and then signals "
            "the loader, which validates the schema and retries twice before paging the on-call. ")
    blocks = [Block("text", f"{para}Run {i} finished.") for i in range(300)]
    chunks, notes = Chunker(ChunkSettings(chunk_tokens=64), count_tokens=words).chunk_with_notes(PAGE, blocks)
    assert len(chunks) <= 10 and any("near-duplicate" in n for n in notes)


def test_rows_that_differ_in_names_and_addresses_stay_apart() -> None:
    rows = [f"| web-{i:02d}.eu.corp | 10.{i}.{i * 7 % 255}.{i * 13 % 255} | {['up', 'down'][i % 2]} |"
            for i in range(200)]
    blocks = [Block("table", "\n".join(rows), (), table_header="| host | address | state |")]
    chunker = Chunker(ChunkSettings(chunk_tokens=40, overlap_tokens=0), count_tokens=words)
    chunks, notes = chunker.chunk_with_notes(PAGE, blocks)
    assert chunks == chunker.chunk(PAGE, blocks) and notes == []
    assert all(f"web-{i:02d}" in " ".join(c.text for c in chunks) for i in range(200))


def test_chunks_over_the_cap_are_left_out_and_reported() -> None:
    blocks = [Block("text", f"Topic {i}: " + " ".join(f"w{i}x{j}" for j in range(30))) for i in range(50)]
    chunker = Chunker(ChunkSettings(chunk_tokens=32, max_chunks_per_page=5), count_tokens=words)
    chunks, notes = chunker.chunk_with_notes(PAGE, blocks)
    assert len(chunks) == 5 and any("max_chunks_per_page" in n for n in notes)


def test_an_empty_page_gets_a_title_chunk() -> None:
    for blocks in ([], [Block("text", "  \n ")]):
        chunks, notes = Chunker(ChunkSettings(), count_tokens=words).chunk_with_notes(PAGE, blocks)
        assert [c.text for c in chunks] == ["Kafka sink runbook"] and notes == []
        assert chunks[0].header == "Engineering › Kafka sink runbook" and chunks[0].id == "77:0"


def test_cap_blocks_cuts_at_a_word_and_skips_counting_small_pages() -> None:
    calls: list[str] = []

    def counting(text: str) -> int:
        calls.append(text)
        return words(text)

    small = [Block("text", "a b c")]
    assert cap_blocks(small, 100, counting) == (small, None) and calls == []
    kept, cut = cap_blocks([Block("text", "one two three " * 100)], 10, counting)
    assert cut == 300 and words(kept[0].text) <= 10 and kept[0].text.startswith("one two three")


def test_collapse_keeps_distinct_chunks_untouched() -> None:
    chunks = Chunker(ChunkSettings(chunk_tokens=32), count_tokens=words).chunk(
        PAGE, [Block("text", " ".join(f"word{i}" for i in range(200)))])
    assert collapse("77", chunks) == (chunks, 0)


def test_fingerprint_tracks_the_bounds() -> None:
    base = Chunker(ChunkSettings(), count_tokens=words).fingerprint()
    assert Chunker(ChunkSettings(max_page_tokens=1000), count_tokens=words).fingerprint() != base
    assert Chunker(ChunkSettings(max_chunks_per_page=10), count_tokens=words).fingerprint() != base
