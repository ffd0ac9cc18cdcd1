"""The dense side for a principal: a pool narrowed by the ledger, or Chroma's `where`, whichever costs less.

Chroma's `where` costs in proportion to the rows it matches (~110 ms for 10k of 100k chunks in
bench/query.py), an unfiltered pool in proportion to its size (~27 ms for 1,000). So for a principal
who may view a large enough share of the index, rank an unfiltered pool of about
`POOL_MARGIN * n / share` and keep the chunks whose page is in a visible class (the ledger says which).
When the pool holds at least `n` visible chunks they are exactly the `n` best visible ones, as the
filtered query would give; otherwise the caller falls back to `where`. Search checks every hit against
the ledger again either way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

POOL_MARGIN = 1.5   # the pool: 1.5x the candidates a principal's share of the index should hold
WHERE_COST = 0.4    # Chroma `where` per matching row, in units of one unfiltered pool slot


def dense_within(store: Any, reads: Any, vector: Any, n: int, acls: tuple[str, ...],
                 counts: Mapping[str, int], total: int) -> list[tuple[str, float]] | None:
    """(chunk id, cosine similarity) of the best `n` visible chunks, or None when `where` is cheaper
    or the pool held too few. `counts`: chunks per access class; `total`: all chunks."""
    visible = sum(counts.get(a, 0) for a in acls)
    if total == 0 or visible == 0:
        return None
    share = visible / total
    pool = min(total, math.ceil(POOL_MARGIN * n / share))
    if pool > WHERE_COST * share * total:  # the filtered query is cheaper
        return None
    ids, distances = store.query_ids(vector, pool)
    allowed = reads.within(ids, acls)
    kept = [(cid, 1.0 - float(d)) for cid, d in zip(ids, distances, strict=True) if cid in allowed]
    return kept[:n] if len(kept) >= n or pool >= total else None
