"""Hybrid search: dense (Chroma) + lexical (SQLite FTS5 bm25), fused (normalised scores, or RRF).

`Searcher(settings)` opens the ledger (read-only) once and the vector store on first use; `.search()`
returns `list[Hit]`. Filters (space, kind, label, updated after/before, page ids) are applied inside
both retrievers where they can be (Chroma `where`, SQL on the ledger's pages) and checked again on the
fused candidates against the ledger, which is the authority. At most `per_page` chunks of one page.
The module function `search(query, settings=None, **kw)` is the Python API.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ingest.access.rules import Principal
from ingest.config import Settings, as_settings
from ingest.errors import ConfigError, NotReady
from ingest.storage.exact import ExactVectors
from ingest.storage.ledger import Ledger
from ingest.storage.reads import LedgerReads, PageScope
from retrieval.query.dense_plan import dense_within
from retrieval.query.filters import KINDS, Filters, parse_properties, to_epoch  # noqa: F401  (re-exported)
from retrieval.query.fusion import cap_per_page, convex_fuse, rrf_fuse
from retrieval.query.hit_fields import heading_path_of, labels_of
from retrieval.query.lexical import STOPWORDS, code_like, fts_query, fts_terms  # noqa: F401  (re-exported)

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[str, ...] = ("hybrid", "dense", "lexical")
PRUNE_MIN_CHUNKS = 20_000   # below this many chunks the lexical query keeps every term
PRUNE_FRACTION = 0.05       # above it, terms in more than this fraction of chunks are left out
PRUNE_CAP_FLOOR = 1000      # ... and in more than this many


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk. `score` is the fused score ([retrieval] fusion); `ranks` maps method ->
    1-based rank; `similarity` is the cosine similarity to the query when known (dense candidates)."""

    chunk_id: str
    page_id: str
    title: str
    url: str
    heading_path: str
    text: str
    header: str
    score: float
    ranks: dict[str, int] = field(default_factory=dict)
    space_key: str = ""
    kind: str = ""
    updated_at: str = ""
    labels: tuple[str, ...] = ()
    similarity: float | None = None
    anchor: str = ""  # the heading's id in the rendered page ("" = the top of the page)

    @property
    def link(self) -> str:
        """Where a citation of this chunk opens: `url#anchor` (the page's heading), else `url`."""
        from ingest.text.anchors import link

        return link(self.url, self.anchor)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["labels"] = list(self.labels)
        out["link"] = self.link
        return out


def scope_of(filters: Filters, acls: tuple[str, ...] | None = None) -> PageScope:
    """The ledger's page scope for `filters` (dates as epoch seconds) and the visible classes."""
    return PageScope(spaces=filters.spaces, kinds=filters.kinds, labels=filters.labels,
                     page_ids=filters.page_ids, acls=acls, properties=filters.properties,
                     after=to_epoch(filters.updated_after) if filters.updated_after else None,
                     before=to_epoch(filters.updated_before) if filters.updated_before else None)


class Searcher:
    """Reads the knowledge base: the ledger (chunks, FTS5, pages) and the vector store.

    `embedder` and `store` may be injected (tests, benchmarks); otherwise the bundled model and the
    active collection are opened on the first dense search.
    """

    def __init__(self, settings: Settings | None = None, *, embedder: Any = None, store: Any = None,
                 ledger: Any = None) -> None:
        self.settings = as_settings(settings)
        self._embedder = embedder
        self._store = store
        self._lock = threading.RLock()  # lazy parts (embedder, store, pool)
        self._df: dict[str, int] = {}
        self._total: tuple[int, float] = (0, -1e9)
        self._classes: tuple[dict[str, int], int, float] = ({}, 0, -1e9)
        self._pool: Any = None
        self._exact: ExactVectors | None = None
        if ledger is not None:
            self.ledger = ledger
        else:
            path = self.settings.data_dir / Ledger.FILENAME
            if not path.is_file():
                raise NotReady(f"no knowledge base at {self.settings.data_dir}",
                               "run `kb ingest` first (or point [data] dir / KB_DATA__DIR at one)")
            self.ledger = Ledger(self.settings.data_dir, readonly=True)
        self.reads = LedgerReads(self.ledger)

    # -- parts, opened lazily ---------------------------------------------------------------------
    @property
    def embedder(self) -> Any:
        with self._lock:
            if self._embedder is None:
                from ingest.index.embed import load_embedder

                self._embedder = load_embedder(self.settings)
            return self._embedder

    @property
    def store(self) -> Any:
        with self._lock:
            if self._store is None:
                from ingest.index.gate import open_store

                self._store = open_store(self.settings, self.embedder, create=False)
            return self._store

    @property
    def vectors(self) -> ExactVectors:
        """Unfiltered dense search: exact while the index is small enough (ingest.storage.exact)."""
        store, limit = self.store, self.settings.chroma.exact_search_max
        with self._lock:
            self._exact = self._exact or ExactVectors(store, self.reads, limit)
            return self._exact

    def adopt_vectors(self, old: Searcher) -> None:
        """Keep `old`'s exact-scan matrix (a reopened Searcher: only what changed is read again)."""
        if old._exact is not None:
            self._exact = old._exact.rebind(self.store, self.reads)

    def _executor(self) -> Any:
        with self._lock:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kb-lexical")
            return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self.ledger.close()

    # -- the search ---------------------------------------------------------------------------------
    def search(self, query: str, k: int | None = None, filters: Filters | dict[str, Any] | None = None,
               mode: str | None = None, *, query_vector: Any = None, principal: Any = None) -> list[Hit]:
        """The best `k` chunks for `query`, at most `per_page` from one page, among the pages
        `principal` may view (None: every page, the operator; see `resolve_principal`)."""
        conf = self.settings.retrieval
        k = int(conf.k if k is None else k)
        if k < 1:
            raise ConfigError(f"k must be at least 1 (got {k})", "ask for one or more results")
        mode = mode or conf.mode
        if mode not in MODES:
            raise ConfigError(f"unknown search mode {mode!r}", f"use one of {', '.join(MODES)}")
        flt = Filters.of(filters)
        acls = self.visible_acls(principal)
        if acls == ():
            return []
        depth = max(conf.candidates, k * conf.per_page, k)
        scored: dict[str, list[tuple[str, float]]] = {}
        lexical = None
        if mode == "hybrid":  # FTS5 runs beside the query embedding and the vector search
            lexical = self._executor().submit(self.lexical_scored, query, depth, flt, acls)
        elif mode == "lexical":
            scored["lexical"] = self.lexical_scored(query, depth, flt, acls)
        if mode in ("hybrid", "dense"):
            vec = query_vector if query_vector is not None else self.embedder.embed_query(query)
            scored["dense"] = self.dense(vec, depth, flt, acls)
        if lexical is not None:
            scored["lexical"] = lexical.result()
        sims = dict(scored.get("dense", ()))
        if conf.fusion == "convex":
            share = conf.code_dense_share if code_like(query) else conf.dense_share
            fused = convex_fuse(scored, {"dense": share, "lexical": 1.0 - share})
        else:
            fused = rrf_fuse({m: [cid for cid, _ in pairs] for m, pairs in scored.items()}, conf.rrf_k,
                             {"dense": conf.dense_weight, "lexical": conf.lexical_weight})
        return self._top(fused, sims, scope_of(flt, acls), k)

    # -- who is asking ------------------------------------------------------------------------------
    def resolve_principal(self, principal: Any) -> Principal | None:
        """None (the operator: every page), a Principal, or an email / account id looked up in the
        ledger (unknown: sees what anonymous users see)."""
        if principal is None or isinstance(principal, Principal):
            return principal
        return self.reads.principal(str(principal))

    def visible_acls(self, principal: Any) -> tuple[str, ...] | None:
        """The access classes `principal` may view; None for the operator."""
        who = self.resolve_principal(principal)
        if who is None:
            return None
        return self.reads.visible_acls(who)

    def _top(self, fused: list[tuple[str, float, dict[str, int]]], sims: dict[str, float], scope: PageScope,
             k: int) -> list[Hit]:
        """The best k Hits of the fused list under the per-page cap, reading chunk rows in growing
        windows (most searches need only the first few dozen)."""
        per_page = self.settings.retrieval.per_page
        hits: list[Hit] = []
        start, window = 0, max(4 * k, 20)
        while start < len(fused):
            hits.extend(self._hits(fused[start:start + window], sims, scope))
            kept = cap_per_page(hits, per_page, k)
            if len(kept) >= k:
                return kept
            start, window = start + window, window * 2
        return cap_per_page(hits, per_page, k)

    def dense(self, vector: Any, n: int, filters: Filters,
              acls: tuple[str, ...] | None = None) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity), best first, from the vector store, within `acls`."""
        where = self._where(filters, acls)
        if where is False:
            return []
        if acls is not None and filters.empty:
            planned = self._dense_within(vector, n, acls)
            if planned is not None:
                return planned
        if not where:  # unfiltered: the exact scan while the index is small enough, else HNSW
            ids, distances = self.vectors.query_ids(vector, n)
            return [(cid, 1.0 - float(d)) for cid, d in zip(ids, distances, strict=True)]
        found = self.store.query(vector, n, where=where, include_metadata=False)  # empty: []
        return [(h.id, 1.0 - float(h.distance)) for h in found]

    def _dense_within(self, vector: Any, n: int, acls: tuple[str, ...]) -> list[tuple[str, float]] | None:
        """The best `n` chunks a principal may view from a pool, or None: use `where` (dense_plan)."""
        now = time.monotonic()
        if now - self._classes[2] > 60:  # chunks per access class, cached like the chunk total
            counts = self.reads.chunks_per_class()
            self._classes = (counts, sum(counts.values()), now)
        return dense_within(self.vectors, self.reads, vector, n, acls, self._classes[0], self._classes[1])

    def _where(self, filters: Filters, acls: tuple[str, ...] | None = None) -> dict[str, Any] | bool:
        """A Chroma `where` for the filters Chroma can apply; labels become page ids via the ledger.
        False when nothing can match."""
        conds: list[dict[str, Any]] = []
        if acls is not None:
            if not acls:
                return False
            conds.append({"acl": {"$in": list(acls)}})
        if filters.spaces:
            conds.append({"space_key": {"$in": list(filters.spaces)}})
        if filters.kinds:
            conds.append({"kind": {"$in": list(filters.kinds)}})
        if filters.updated_after:
            conds.append({"updated_ts": {"$gte": to_epoch(filters.updated_after)}})
        if filters.updated_before:
            conds.append({"updated_ts": {"$lte": to_epoch(filters.updated_before)}})
        page_ids = set(filters.page_ids)
        if filters.labels:
            labelled = self.reads.labelled_pages(filters.labels)
            page_ids = (page_ids & labelled) if filters.page_ids else labelled
            if not page_ids:
                return False
        if filters.properties:
            owned = self.reads.property_pages(filters.properties)
            page_ids = (page_ids & owned) if (filters.page_ids or filters.labels) else owned
            if not page_ids:
                return False
        if page_ids:
            conds.append({"page_id": {"$in": sorted(page_ids)}})
        if not conds:
            return {}
        return conds[0] if len(conds) == 1 else {"$and": conds}

    def missing_labels(self, labels: Sequence[str]) -> list[str]:
        """Those of `labels` that no page carries."""
        return [label for label in labels if not self.reads.labelled_pages((label,))]

    def lexical(self, query: str, n: int, filters: Filters, acls: tuple[str, ...] | None = None) -> list[str]:
        """Chunk ids, best bm25 first, from the ledger's FTS5 index, within `acls`."""
        return [cid for cid, _ in self.lexical_scored(query, n, filters, acls)]

    def lexical_scored(self, query: str, n: int, filters: Filters,
                       acls: tuple[str, ...] | None = None) -> list[tuple[str, float]]:
        """(chunk id, bm25 relevance, higher better), best first, within `acls`."""
        match = self._match(fts_terms(query))
        if not match:
            return []
        return self.reads.bm25_scored(match, n, scope_of(filters, acls), sample=" AND " in match)

    def _match(self, terms: list[str]) -> str:
        """The MATCH expression. In a large index, terms found in more than PRUNE_FRACTION of the chunks
        are left out (bm25 would score most of the index for them, for little gain); when every term
        is that common, all of them must match (AND)."""
        if not terms:
            return ""
        total = self._chunk_total()
        if total < PRUNE_MIN_CHUNKS or len(terms) == 1:
            return fts_query(terms)
        cap = max(PRUNE_CAP_FLOOR, int(total * PRUNE_FRACTION))
        rare = [t for t in terms if self._doc_freq(t, cap) < cap]
        return fts_query(rare) if rare else fts_query(terms, "AND")

    def _chunk_total(self) -> int:
        now = time.monotonic()
        if now - self._total[1] > 60:
            self._total = (self.reads.chunk_total(), now)
        return self._total[0]

    def _doc_freq(self, term: str, cap: int) -> int:
        """Chunks holding `term`, counted up to `cap` (cached: it drifts slowly)."""
        count = self._df.get(term)
        if count is None:
            count = self.reads.doc_freq(fts_query([term]), cap)
            if len(self._df) > 50_000:
                self._df = {}
            self._df[term] = count
        return count

    def _hits(self, fused: list[tuple[str, float, dict[str, int]]], sims: dict[str, float],
              scope: PageScope) -> list[Hit]:
        """Fused ids -> Hits with text and page fields from the ledger; filters and access checked
        again against the ledger (the authority: the vector store's copy of a class may lag)."""
        if not fused:
            return []
        rows = self.reads.hit_rows([cid for cid, _, _ in fused], scope)
        hits = []
        for cid, score, ranks in fused:
            row = rows.get(cid)
            if row is None:  # filtered out, or a vector whose chunk row is gone
                continue
            hits.append(Hit(
                chunk_id=cid, page_id=row["page_id"], title=row["title"] or "", url=row["url"] or "",
                heading_path=heading_path_of(row["heading_path"]), text=row["text"], header=row["header"],
                score=score, ranks=ranks, space_key=row["space_key"] or "", kind=row["kind"] or "",
                updated_at=row["updated_at"] or "", labels=labels_of(row["labels"]),
                similarity=sims.get(cid), anchor=row.get("anchor") or ""))
        return hits


def search(query: str, settings: Settings | str | None = None, *, k: int | None = None,
           filters: Filters | dict[str, Any] | None = None, mode: str | None = None,
           embedder: Any = None, principal: Any = None) -> list[Hit]:
    """Python API: the best chunks for `query`. `settings` is Settings, a config path or None.
    `principal`: an email or account id (or a Principal): only pages they may view; None: all."""
    searcher = Searcher(as_settings(settings), embedder=embedder)
    try:
        return searcher.search(query, k=k, filters=filters, mode=mode, principal=principal)
    finally:
        searcher.close()
