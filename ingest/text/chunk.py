"""Blocks → Chunks along the heading path, within two token budgets.

Every chunk holds to both budgets, and `check_budgets` shows it:
- `chunk_tokens`: the chunk text counted with tiktoken cl100k_base (LLM context);
- `window_tokens`: `title + "\\n" + text` (exactly what is embedded; not the header) counted with the
  embedder's own tokenizer. It is hard: sentence-transformers silently truncates longer input.
Counting is a parameter (`count_tokens`, `count_window`), so tests use cheap counters.

A chunk holds one section (consecutive blocks with the same heading path); neighbouring sections
merge only when one of them is tiny (< `min_section_tokens`) and the merge fits. A block too big for
a chunk splits at lines, then sentences, then words; a run of non-space characters is cut only when it
alone is bigger than a chunk. Within a section, a chunk starts with up to `overlap_tokens` of the end of
the previous one. Table rows repeat the table's header line at the top of every chunk; code keeps its
fence. Packing uses per-unit counts; each chunk is then counted exactly before it is kept.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ingest.config import ChunkSettings
from ingest.records import Block, Chunk, Page, embed_text, make_chunk
from ingest.text._bound import bound_notes, cap_blocks, check_budgets, collapse
from ingest.text._split import cut_words, halve, split_level
from ingest.text.anchors import chunk_anchor
from ingest.text.tokens import Counter, tiktoken_counter, window_counter, window_size

__all__ = ["CHUNKER_VERSION", "Chunker", "check_budgets", "tiktoken_counter", "window_counter", "window_size"]

CHUNKER_VERSION = "4"  # 2: bounds, dedup, title chunk; 3: anchors, comments; 4: title (not header) embedded
SEP = " › "

_FENCE = re.compile(r"^(`{3,})([^`\n]*)$")


@dataclass(frozen=True)
class _Unit:
    """A piece of one block: a whole block, a line, a table row, a sentence or a run of words."""

    text: str
    block: int          # which block of the section (units of one block form a group)
    joiner: str         # put before this unit when it follows a unit of the same block
    tok: int
    win: int
    overlap: bool = False


@dataclass(frozen=True)
class _Frame:
    """What a block's groups carry around their units: a table header line, a code fence."""

    prefix: str = ""
    suffix: str = ""
    tok: int = 0
    win: int = 0
    overlaps: bool = True


@dataclass
class _Draft:
    path: tuple[str, ...]
    parts: list[tuple[tuple[str, ...], str]]
    text: str
    tok: int
    single: bool
    anchor: str = ""


class Chunker:
    """`Chunker(settings.chunk, count_tokens=..., window_tokens=256, count_window=...)`.

    One per thread: `chunk()` keeps per-call state (the section's window ratio, a header cache)."""

    def __init__(self, settings: ChunkSettings | None = None, count_tokens: Counter | None = None,
                 window_tokens: int | None = None, count_window: Counter | None = None) -> None:
        self.chunk_tokens = int(getattr(settings, "chunk_tokens", 320))
        self.overlap_tokens = int(getattr(settings, "overlap_tokens", 32))
        self.min_section_tokens = int(getattr(settings, "min_section_tokens", 48))
        self.max_page_tokens = int(getattr(settings, "max_page_tokens", 50_000))
        self.max_chunks_per_page = int(getattr(settings, "max_chunks_per_page", 200))
        self.count_tokens = count_tokens or tiktoken_counter()
        self.window_tokens = window_tokens
        self.count_window = count_window or (self.count_tokens if window_tokens else None)
        self._base = self.count_window("") if self.count_window else 0
        self._ratio = 1.0  # window tokens per character on the page being chunked

    # ------------------------------------------------------------------ public
    def fingerprint(self) -> str:
        """A stable id of everything that decides the chunks: settings, window, counters, versions."""
        from ingest.text.clean import CLEAN_VERSION

        data = {"chunker": CHUNKER_VERSION, "clean": CLEAN_VERSION, "chunk_tokens": self.chunk_tokens,
                "overlap_tokens": self.overlap_tokens, "min_section_tokens": self.min_section_tokens,
                "window_tokens": self.window_tokens, "max_page_tokens": self.max_page_tokens,
                "max_chunks_per_page": self.max_chunks_per_page,
                "count_tokens": _counter_id(self.count_tokens),
                "count_window": _counter_id(self.count_window)}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def chunk_with_notes(self, page: Page, blocks: Sequence[Block]) -> tuple[list[Chunk], list[str]]:
        """What the index stores: `chunk()` within the page's bounds (_bound.py), and a note per bound
        it hit. A page with no text gets one chunk of its title, so it can still be found."""
        blocks, cut_at = cap_blocks(blocks, self.max_page_tokens, self.count_tokens)
        chunks = self.chunk(page, blocks) or [
            make_chunk(page.id, 0, self.header(page, ()), (), page.title or page.id,
                       self.count_tokens(page.title or page.id), embed_title=self._prefix(page)[0])]
        chunks, dropped = collapse(page.id, chunks)
        notes = bound_notes(page.id, len(page.body_html.encode()), cut_at, self.max_page_tokens, dropped,
                            len(chunks), self.max_chunks_per_page)
        return chunks[:self.max_chunks_per_page], notes

    def chunk(self, page: Page, blocks: Sequence[Block]) -> list[Chunk]:
        """Every block's text in chunks within both budgets (no page bounds: `chunk_with_notes`)."""
        drafts: list[_Draft] = []
        self._headers: dict[tuple[Any, ...], str] = {}  # per call: the headers of this page
        if self.window_tokens:
            sample = "\n\n".join(b.text for b in blocks)[:20_000]
            self._ratio = 1.1 * (self._win(sample) + 1) / max(len(sample), 1)
        prefix, cost = self._prefix(page)  # what is embedded before each chunk's text
        for path, section in _sections(blocks):
            texts = self._section(prefix, cost, section)
            anchor = "" if page.kind == "attachment" else chunk_anchor(page.title, section[0].kind,
                                                                       section[0].anchor)
            for text, tokens in texts:
                drafts.append(_Draft(path, [(path, text)], text, tokens, len(texts) == 1, anchor))
        drafts = self._merge(page, drafts)
        return [make_chunk(page.id, i, self.header(page, d.path), d.path, d.text, d.tok, d.anchor, prefix)
                for i, d in enumerate(drafts)]

    def check(self, chunks: Sequence[Chunk]) -> list[str]:
        return check_budgets(chunks, chunk_tokens=self.chunk_tokens, count_tokens=self.count_tokens,
                             window_tokens=self.window_tokens, count_window=self.count_window)

    def header(self, page: Page, path: Sequence[str]) -> str:
        """`Space › Ancestors › Title › Heading path`, shortened to half the window at most (cached
        for the page being chunked). Shown and indexed for bm25; not embedded."""
        cache = getattr(self, "_headers", {})
        key = (page.id, page.space_name, page.space_key, page.title, *page.ancestor_titles, "\0", *path)
        if key not in cache:
            cache[key] = self._make_header(page, path)
        return cache[key]

    def _prefix(self, page: Page) -> tuple[str, int]:
        """The embedded title (cut to a quarter of the window at most) and its window cost."""
        title, quarter = page.title or "", (self.window_tokens or 0) // 4
        if self.window_tokens and title and self._win(title) > quarter:
            title = cut_words(title, lambda t: self._win(t) <= quarter)
        return title, (self._win(title) if self.window_tokens and title else 0)

    def _make_header(self, page: Page, path: Sequence[str]) -> str:
        ancestors, heads = list(page.ancestor_titles), list(path)
        while True:
            parts = [page.space_name or page.space_key, *ancestors, page.title, *heads]
            header = SEP.join(p for p in parts if p)
            if not self.window_tokens or self._win(header) <= self.window_tokens // 2:
                return header
            if any(a != "…" for a in ancestors):
                ancestors = ["…"] if len(ancestors) == 1 else ["…", *ancestors[2:]]
            elif len(heads) > 1:
                heads = heads[1:]
            else:
                half = self.window_tokens // 2
                return cut_words(header, lambda t: self._win(t) <= half)  # noqa: B023 - used at once, then returned

    # ------------------------------------------------------------------ one section
    def _win(self, text: str) -> int:
        return self.count_window(text) - self._base if self.count_window else 0

    def _est(self, text: str) -> int:
        """The window cost of a unit, estimated from its length and the page's tokens per character
        (+10%): the window is counted exactly once per page, per header and per chunk, not per unit."""
        return int(len(text) * self._ratio) + 1 if self.window_tokens else 0

    def _budgets(self, header_cost: int) -> tuple[int, int]:
        if not self.window_tokens:
            return self.chunk_tokens, 1 << 30
        return self.chunk_tokens, self.window_tokens - self._base - header_cost - 2  # 2: the "\n", margin

    def _fits(self, header: str, text: str) -> int | None:
        """The text's token count when the embedded title + text fit both budgets, else None."""
        tokens = self.count_tokens(text)
        if tokens > self.chunk_tokens:
            return None
        if (self.window_tokens and self.count_window is not None
                and self.count_window(embed_text(header, text)) > self.window_tokens):
            return None
        return tokens

    def _section(self, header: str, header_cost: int, blocks: Sequence[Block]) -> list[tuple[str, int]]:
        tb, wb = self._budgets(header_cost)
        frames: dict[int, _Frame] = {}
        units: list[_Unit] = []
        for j, block in enumerate(blocks):
            frame, pieces, joiner = self._frame(block)
            frames[j] = frame
            limit = (tb - frame.tok, wb - frame.win)
            for k, piece in enumerate(pieces):
                units.extend(self._units(piece, j, joiner if k else "", limit))
        return self._pack(header, units, frames, (tb, wb))

    def _frame(self, block: Block) -> tuple[_Frame, list[str], str]:
        """A block's frame and body: `_units` keeps the body whole when it fits, else splits it."""
        if block.kind == "table":
            return self._make_frame(block.table_header, "", False), [block.text], "\n"
        lines = block.text.split("\n")
        opening = _FENCE.match(lines[0]) if block.kind == "code" and len(lines) >= 2 else None
        if opening and lines[-1] == opening.group(1):
            return self._make_frame(lines[0], lines[-1], False), ["\n".join(lines[1:-1])], "\n"
        return _Frame(), [block.text], "\n"

    def _make_frame(self, prefix: str, suffix: str, overlaps: bool) -> _Frame:
        tok = sum(self.count_tokens(s) + 1 for s in (prefix, suffix) if s)
        win = sum(self._est(s) for s in (prefix, suffix) if s)
        return _Frame(prefix, suffix, tok, win, overlaps)

    def _units(self, text: str, block: int, joiner: str, limit: tuple[int, int]) -> list[_Unit]:
        """`text` as one unit, or split at lines, sentences, words (then characters) until each fits."""
        out: list[_Unit] = []
        stack: list[tuple[str, str, int]] = [(text, joiner, 0)]
        while stack:
            piece, join, level = stack.pop()
            tok = self.count_tokens(piece)
            win = self._est(piece)
            if (tok <= limit[0] and win <= limit[1]) or len(piece) <= 1:
                out.append(_Unit(piece, block, join, tok, win))
                continue
            parts, inner = split_level(piece, level, lambda t: self._unit_fits(t, limit), limit[0])
            if len(parts) == 1:
                stack.append((piece, join, level + 1))  # nothing to split at this level: go down
                continue
            stack.extend(reversed([(p, join if i == 0 else inner, min(level + 1, 3))
                                   for i, p in enumerate(parts)]))
        return out

    def _unit_fits(self, text: str, limit: tuple[int, int]) -> bool:
        tok = self.count_tokens(text)
        return tok <= limit[0] and self._est(text) <= limit[1]

    def _pack(self, header: str, units: list[_Unit], frames: dict[int, _Frame],
              budget: tuple[int, int]) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        queue = deque(units)
        cur: list[_Unit] = []
        used = (0, 0)
        while True:
            if queue:
                cost = self._cost(cur, queue[0], frames)
                if not cur or (used[0] + cost[0] <= budget[0] and used[1] + cost[1] <= budget[1]):
                    cur.append(queue.popleft())
                    used = (used[0] + cost[0], used[1] + cost[1])
                    continue
                if all(c.overlap for c in cur):  # the overlap leaves no room for the next unit: drop it
                    cur, used = [], (0, 0)
                    continue
            elif all(c.overlap for c in cur):
                break
            out.append(self._close(header, cur, frames, queue))
            cur = self._overlap(cur, frames)
            used = (sum(c.tok for c in cur), sum(c.win for c in cur))
        return [(t, n) for t, n in out if t]

    def _cost(self, cur: list[_Unit], u: _Unit, frames: dict[int, _Frame]) -> tuple[int, int]:
        if cur and cur[-1].block == u.block:
            return u.tok + 1, u.win
        frame = frames[u.block]
        return u.tok + frame.tok + (1 if cur else 0), u.win + frame.win

    def _close(self, header: str, cur: list[_Unit], frames: dict[int, _Frame],
               queue: deque[_Unit]) -> tuple[str, int]:
        """Render `cur`, counted exactly; units that overflow go back to the front of the queue."""
        while True:
            text = _render(cur, frames)
            tokens = self._fits(header, text)
            if tokens is not None:
                return text, tokens
            real = [c for c in cur if not c.overlap]
            if len(real) > 1:
                queue.appendleft(cur.pop())
                continue
            if len(cur) > 1:  # an overlap plus one unit: drop the overlap
                cur[:] = real
                continue
            halves, inner = halve(cur[0].text)
            if not halves:
                return text, self.count_tokens(text)  # one character over: check_budgets shows it
            u = cur[0]
            counts = [self.count_tokens(h) for h in halves]
            pieces = [_Unit(h, u.block, u.joiner if i == 0 else inner, n, self._est(h))
                      for i, (h, n) in enumerate(zip(halves, counts, strict=False))]
            cur[:] = pieces[:1]
            queue.appendleft(pieces[1])

    def _overlap(self, prev: list[_Unit], frames: dict[int, _Frame]) -> list[_Unit]:
        last = prev[-1] if prev else None
        budget = min(self.overlap_tokens, self.chunk_tokens // 4)
        if last is None or budget <= 0 or not frames[last.block].overlaps:
            return []
        words = last.text.split(" ")
        best = self._tail(words, budget)
        if best is None:
            return []
        text, tok = best
        if self.window_tokens and self._est(text) > (self.window_tokens // 4):
            return []
        return [_Unit(text, last.block, "", tok, self._est(text), overlap=True)]

    def _tail(self, words: list[str], budget: int) -> tuple[str, int] | None:
        """The longest run of last words within `budget` tokens (never all of them), in 1–3 counts."""
        k, best, grown = min(len(words) - 1, max(budget * 3 // 4, 1)), None, False  # ~1.3 tokens a word
        while k > 0:
            text = " ".join(words[-k:])
            tok = self.count_tokens(text)
            if tok <= budget:
                best = (text, tok)
                more = min(len(words) - 1, k + (budget - tok) * k // max(tok, 1))
                if grown or more <= k:
                    return best
                k, grown = more, True
            elif best is not None:
                return best
            else:
                k = min(k - 1, k * budget // tok)
        return best

    # ------------------------------------------------------------------ tiny sections
    def _merge(self, page: Page, drafts: list[_Draft]) -> list[_Draft]:
        out: list[_Draft] = []
        for d in drafts:
            prev = out[-1] if out else None
            if (prev is not None and prev.single and d.single and self.min_section_tokens
                    and min(prev.tok, d.tok) < self.min_section_tokens and not _separate(prev, d)):
                merged = self._merged(page, prev, d)
                if merged is not None:
                    out[-1] = merged
                    continue
            out.append(d)
        return out

    def _merged(self, page: Page, a: _Draft, b: _Draft) -> _Draft | None:
        path = _common(a.path, b.path)
        parts = a.parts + b.parts
        text = "\n\n".join(f"{SEP.join(p[len(path):])}\n{t}" if len(p) > len(path) else t for p, t in parts)
        tokens = self._fits(self._prefix(page)[0], text)
        return None if tokens is None else _Draft(path, parts, text, tokens, True, a.anchor)


def _counter_id(fn: Any) -> str:
    if fn is None:
        return ""
    return str(getattr(fn, "__qualname__", None) or type(fn).__qualname__)


def _separate(a: _Draft, b: _Draft) -> bool:
    """Comments never merge with their neighbours: a new comment re-embeds only its own section."""
    return a.anchor.startswith("comment-") or b.anchor.startswith("comment-")


def _sections(blocks: Sequence[Block]) -> list[tuple[tuple[str, ...], list[Block]]]:
    out: list[tuple[tuple[str, ...], list[Block]]] = []
    last_anchor = None
    for b in blocks:
        if not b.text.strip():
            continue
        if out and out[-1][0] == tuple(b.heading_path) and b.anchor == last_anchor:
            out[-1][1].append(b)
        else:
            out.append((tuple(b.heading_path), [b]))
            last_anchor = b.anchor
    return out


def _render(units: Sequence[_Unit], frames: dict[int, _Frame]) -> str:
    groups: list[str] = []
    i = 0
    while i < len(units):
        j = i + 1
        while j < len(units) and units[j].block == units[i].block:
            j += 1
        body = units[i].text + "".join(u.joiner + u.text for u in units[i + 1:j])
        frame = frames[units[i].block]
        if frame.prefix and not all(u.overlap for u in units[i:j]):
            body = f"{frame.prefix}\n{body}"
        if frame.suffix:
            body = f"{body}\n{frame.suffix}"
        groups.append(body)
        i = j
    return "\n\n".join(groups)


def _common(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]
