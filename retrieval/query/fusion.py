"""Fusion of ranked lists: a convex combination of normalised scores (the default), weighted
reciprocal-rank fusion, and the per-page cap."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, TypeVar


class _OfPage(Protocol):
    @property
    def page_id(self) -> str: ...


H = TypeVar("H", bound=_OfPage)


def rrf_fuse(rankings: Mapping[str, Sequence[str]], k: int = 60,
             weights: dict[str, float] | None = None) -> list[tuple[str, float, dict[str, int]]]:
    """Weighted reciprocal-rank fusion: score(id) = sum over methods of w / (k + rank), w = 1 unless
    `weights` says otherwise. Best first, ties by id."""
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for method, ids in rankings.items():
        for rank, item in enumerate(ids, start=1):
            if method in ranks.setdefault(item, {}):
                continue
            ranks[item][method] = rank
            scores[item] = scores.get(item, 0.0) + (weights or {}).get(method, 1.0) / (k + rank)
    return sorted(((i, s, ranks[i]) for i, s in scores.items()), key=lambda t: (-t[1], t[0]))


def convex_fuse(scored: Mapping[str, Sequence[tuple[str, float]]],
                shares: Mapping[str, float]) -> list[tuple[str, float, dict[str, int]]]:
    """A convex combination of min-max normalised scores: each method's scores are scaled to [0, 1]
    over its own candidates (all equal: 1 each), score(id) = sum over methods of share * scaled score,
    a method that did not return the id adding 0. Shares are divided by their sum (a method without a
    share counts 0). Best first, ties by id; ranks as in `rrf_fuse`."""
    total = sum(shares.get(m, 0.0) for m in scored) or 1.0
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for method, pairs in scored.items():
        share = shares.get(method, 0.0) / total
        values = [s for _, s in pairs]
        low, high = (min(values), max(values)) if values else (0.0, 0.0)
        for rank, (item, value) in enumerate(pairs, start=1):
            if method in ranks.setdefault(item, {}):
                continue
            ranks[item][method] = rank
            scaled = (value - low) / (high - low) if high > low else 1.0
            scores[item] = scores.get(item, 0.0) + share * scaled
    return sorted(((i, s, ranks[i]) for i, s in scores.items()), key=lambda t: (-t[1], t[0]))


def cap_per_page(hits: Iterable[H], per_page: int, k: int) -> list[H]:
    """Keep hits in order, at most `per_page` from one page, at most `k` in all."""
    kept: list[H] = []
    seen: dict[str, int] = {}
    for hit in hits:
        if seen.get(hit.page_id, 0) >= per_page:
            continue
        seen[hit.page_id] = seen.get(hit.page_id, 0) + 1
        kept.append(hit)
        if len(kept) >= k:
            break
    return kept
