"""Bounds on one page (issue 17: one large repetitive page broke dense search for the whole index).

- `cap_blocks`: a page is chunked up to `max_page_tokens` (tiktoken); the rest is left out and noted.
- `collapse`: of the chunks of one page that say nearly the same thing (word 3-shingles with their
  counts, weighted Jaccard at least `NEAR_DUPLICATE`), the first `COPIES` are kept; a page of one
  word repeated, or of one paragraph pasted a thousand times (even with a counter in it), becomes a
  few chunks, not thousands of vectors that crowd every neighbourhood of the vector index. Numbers
  count as words, so table rows that differ in a host name or an address stay apart.
- at most `max_chunks_per_page` chunks are kept.
`check_budgets` (re-exported by chunk.py) checks every chunk against the two token budgets.
Every cut is described in the notes the indexer reports as the page's warnings.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace

from ingest.records import Block, Chunk, make_chunk
from ingest.text.tokens import Counter as TokenCounter

NEAR_DUPLICATE = 0.7  # weighted Jaccard of word 3-shingles
COPIES = 2  # near-duplicates kept per group
_WORD = re.compile(r"\w+", re.UNICODE)


def cap_blocks(blocks: Sequence[Block], max_tokens: int, count: Callable[[str], int],
               ) -> tuple[list[Block], int | None]:
    """The blocks within `max_tokens` (the block that crosses it cut at a word), and None, or the
    blocks kept and the token count at which the page was cut."""
    if sum(len(b.text.encode("utf-8", "replace")) for b in blocks) <= max_tokens:
        return list(blocks), None  # a token is at least one byte: no need to count
    kept: list[Block] = []
    used = 0
    for block in blocks:
        if not block.text.strip():
            kept.append(block)
            continue
        tokens = count(block.text)
        if used + tokens <= max_tokens:
            kept.append(block)
            used += tokens
            continue
        room = max_tokens - used
        text = _head(block.text, room, count) if room > 0 else ""
        if text:
            kept.append(replace(block, text=text))
        return kept, used + tokens
    return kept, None


def _head(text: str, tokens: int, count: Callable[[str], int]) -> str:
    """The longest word-boundary prefix of `text` within `tokens` (a few counts of shrinking prefixes)."""
    size = min(len(text), tokens * 4)
    while size > 0:
        cut = text[:size]
        if size < len(text) and " " in cut:
            cut = cut[:cut.rfind(" ")]
        n = count(cut)
        if n <= tokens:
            return cut
        size = min(len(cut) - 1, int(len(cut) * tokens / n * 0.95))
    return ""


def _shingles(text: str) -> Counter[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    if len(words) < 3:
        return Counter({tuple(words): 1})
    return Counter(zip(words, words[1:], words[2:], strict=False))


def collapse(page_id: str, chunks: Sequence[Chunk]) -> tuple[list[Chunk], int]:
    """`chunks` with at most `COPIES` of each group of near-duplicates (the first ones), renumbered;
    and how many were dropped. Two near-identical sections (staging and production) both stay."""
    kept: list[Chunk] = []
    groups: list[tuple[Counter[tuple[str, ...]], list[int]]] = []  # a group's first signature, size
    for chunk in chunks:
        sig = _shingles(chunk.text)
        group = next((g for g in groups if _similar(sig, g[0])), None)
        if group is None:
            groups.append((sig, [1]))
        elif group[1][0] < COPIES:
            group[1][0] += 1
        else:
            continue
        kept.append(chunk)
    dropped = len(chunks) - len(kept)
    return (renumber(page_id, kept) if dropped else list(chunks)), dropped


def _similar(a: Counter[tuple[str, ...]], b: Counter[tuple[str, ...]]) -> bool:
    """Weighted Jaccard (shingle counts) >= NEAR_DUPLICATE: a paragraph pasted with a counter that
    changes ("run 17", "run 18") is as repetitive as one pasted verbatim."""
    small, large = sorted((a.total(), b.total()))
    if not large or small < NEAR_DUPLICATE * large:  # the ratio bounds the weighted Jaccard
        return small == large == 0
    inter = sum((a & b).values())
    return inter / (small + large - inter) >= NEAR_DUPLICATE


def renumber(page_id: str, chunks: Sequence[Chunk]) -> list[Chunk]:
    """Chunks numbered 0.. in order (ids are `page:index`)."""
    return [make_chunk(page_id, i, c.header, c.heading_path, c.text, c.tokens, c.anchor, c.embed_title)
            for i, c in enumerate(chunks)]


def bound_notes(page_id: str, size: int, cut_at: int | None, max_tokens: int, dropped: int,
                total: int, max_chunks: int) -> list[str]:
    """One line per bound the page hit: id and size, and what was left out."""
    notes = []
    if cut_at is not None:
        notes.append(f"page {page_id} ({size} bytes) is over [chunk] max_page_tokens: indexed its first "
                     f"{max_tokens} of {cut_at}+ tokens")
    if dropped:
        notes.append(f"page {page_id} ({size} bytes): {dropped} near-duplicate chunks collapsed")
    if total > max_chunks:
        notes.append(f"page {page_id} ({size} bytes) has {total} chunks: indexed the first {max_chunks} "
                     "([chunk] max_chunks_per_page)")
    return notes


def check_budgets(chunks: Sequence[Chunk], *, chunk_tokens: int, count_tokens: TokenCounter,
                  window_tokens: int | None = None, count_window: TokenCounter | None = None) -> list[str]:
    """Every chunk within both budgets? One line per violation; empty when all hold."""
    problems = []
    for c in chunks:
        tokens = count_tokens(c.text)
        if tokens > chunk_tokens:
            problems.append(f"{c.id}: text is {tokens} tokens > chunk_tokens {chunk_tokens}")
        if window_tokens:
            window = (count_window or count_tokens)(c.embed_text)
            if window > window_tokens:
                problems.append(f"{c.id}: header + text is {window} > window {window_tokens}")
    return problems
