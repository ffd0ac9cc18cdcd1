"""Splitting text that is too big for a chunk: lines, then sentences, then words, then halves."""

from __future__ import annotations

import re
from collections.abc import Callable

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def split_level(text: str, level: int, fits: Callable[[str], bool], budget: int) -> tuple[list[str], str]:
    """One level down: lines, sentences, runs of words that fit, or halves of a word.

    A run never holds more than 2 × budget + 8 words (a word is at least one token), so a
    megabyte-long sentence costs O(n log budget) counts of short strings."""
    if level == 0:
        return text.split("\n"), "\n"
    if level == 1:
        return _SENTENCE.split(text), " "
    if level == 2:
        words, parts, i = text.split(" "), [], 0
        while i < len(words):
            most = min(len(words) - i, 2 * max(budget, 1) + 8)
            k = max(largest(most, lambda n: fits(" ".join(words[i:i + n]))), 1)  # noqa: B023 - largest() calls it before i moves
            parts.append(" ".join(words[i:i + k]))
            i += k
        return parts, " "
    halves, inner = halve(text)
    return halves or [text], inner


def largest(n: int, ok: Callable[[int], bool]) -> int:
    """The largest k in 1..n with ok(k) (ok is monotone: fewer is smaller); 0 when none."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def halve(text: str) -> tuple[list[str], str]:
    """Two halves (and their joiner) at the space nearest the middle, else at the middle character."""
    if len(text) <= 1:
        return [], ""
    mid = len(text) // 2
    left, right = text.rfind(". ", len(text) // 4, mid + 1), text.find(". ", mid, 3 * len(text) // 4)
    cut = min((c + 1 for c in (left, right) if c > 0), key=lambda c: abs(c - mid), default=-1)
    if 0 < cut < len(text) - 1:
        return [text[:cut], text[cut + 1:]], " "
    left, right = text.rfind(" ", 0, mid + 1), text.find(" ", mid)
    cut = min((c for c in (left, right) if 0 < c < len(text) - 1), key=lambda c: abs(c - mid), default=-1)
    if cut > 0:
        return [text[:cut], text[cut + 1:]], " "
    return [text[:mid], text[mid:]], ""


def cut_words(text: str, ok: Callable[[str], bool]) -> str:
    words = text.split(" ")
    k = largest(len(words), lambda n: ok(" ".join(words[:n])))
    return " ".join(words[:k]) if k else text[:20]
