"""Query latency in embedded mode (SQLite FTS5 + embedded Chroma) at 10k and 100k generated chunks.

Chunks are synthetic (template sentences over a technical vocabulary, with common English words)
and their vectors random unit vectors, written straight into the ledger and the store: nothing is
embedded but the queries, with the real bundled model. Prints search (hybrid, dense, lexical) and ask
latency p50/p95 in ms, and the dense search's recall@50 against an exact (brute-force) search over the
same vectors: what the HNSW graph's breadth ([chroma] hnsw_*) gives up for speed. Random unit vectors
are the hard case for HNSW (no structure to exploit). Goals at 100k chunks: hybrid search p50 <= 30 ms
and p95 <= 60 ms; dense recall@50 >= 0.99.

Access: every page is read-restricted to one of ten team groups (page id mod 10), so the principal
BENCH_USER (member of team-3) may view 10% of the pages; `as user` lines search as them (the
principal resolved per search, as the server does). Goal: within 1.5x the unfiltered search.

    .venv/bin/python bench/query.py [--sizes 10000,100000] [--queries 60] [--keep DIR] [--torch-threads 1]
                                    [--ef-search 800,1600,3200] [--exact-max 0]

Dense search without filters scans every vector exactly while the index holds at most [chroma]
exact_search_max chunks (ingest.storage.exact); `--exact-max 0` measures the HNSW graph alone.

`--ef-search` measures each search breadth on the same build: the collection's ef_search (and the
gate's record of it) is changed in place, which the product never does (it gates ef_search, a
change there needs `kb reindex`); M and ef_construction are the build's, from [chroma] settings.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

try:
    from emulator.gentext import COMPONENTS, TECHS, TOPICS
except ImportError:  # the generator's vocabulary, or a small stand-in
    COMPONENTS = ("billing service", "ingest gateway", "auth proxy", "search indexer", "rate limiter")
    TECHS = ("Kafka", "PostgreSQL", "Redis", "Kubernetes", "Terraform")
    TOPICS = ("runbook", "deployment guide", "troubleshooting", "FAQ", "incident review")

TEMPLATES = (
    "The {c} uses {t} to store its state, and the {o} reads it every {n} seconds.",
    "When the {c} returns error E{n}, restart it and check the {t} connection pool.",
    "Set {k} to {n} in the {c} config before you deploy it with {t}.",
    "During the last incident the {c} lost its {t} leader for {n} minutes.",
    "The {o} team owns the {c}; page them through the on-call rota if it is down.",
    "Our {topic} for the {c} explains how to scale {t} beyond {n} nodes.",
    "If requests to the {c} time out, raise {k} and watch the {t} dashboards.",
)
KEYS = ("max_connections", "retry_after", "timeout_seconds", "batch_size", "pool_size", "cache_ttl")
QUESTIONS = (
    "How do I fix error E{n} in the {c}?", "What does {k} do for the {c}?",
    "Who owns the {c} and how do I page them?", "How do we scale {t} for the {c}?",
    "Where is the {topic} for the {c}?", "Why did the {c} lose its {t} leader?",
)


def fill(rng: random.Random, template: str) -> str:
    return template.format(c=rng.choice(COMPONENTS), o=rng.choice(COMPONENTS), t=rng.choice(TECHS),
                           topic=rng.choice(TOPICS), k=rng.choice(KEYS), n=rng.randint(2, 9999))


def chunk_text(rng: random.Random) -> str:
    return " ".join(fill(rng, rng.choice(TEMPLATES)) for _ in range(rng.randint(5, 12)))


TEAMS = 10
BENCH_USER = "bench-user@example.test"


def team_acl(space: str, pid: str) -> str:
    """The access class a page restricted to its team gets (what LedgerAccess.recompute computes)."""
    from ingest.access.rules import Restriction, acl_of

    return acl_of(space, [Restriction(pid, "", (), (f"team-{int(pid) % TEAMS}",))]).acl


def grant_access(ledger: Any) -> None:
    """Spaces readable by group staff; BENCH_USER in staff and team-3; every page's class computed."""
    from ingest.access.rules import SpaceRule
    from ingest.storage.access import LedgerAccess

    access = LedgerAccess(ledger)
    with ledger.tx():
        access.replace_space_rules([SpaceRule(s, groups=frozenset({"staff"})) for s in ("ENG", "OPS", "HR")])
        access.replace_members({"staff": ["bench-user"], "team-3": ["bench-user"]})
        access.upsert_principals([("bench-user", BENCH_USER, "Bench User")])
        access.recompute()
    for page in list(ledger.iter_pages())[::997]:  # the classes written to Chroma are the ledger's
        assert page.acl == team_acl(page.space_key, page.id), "the bench's classes differ from the ledger's"


@dataclass(frozen=True)
class _Work:
    """A page's chunk rows, in the shape LedgerChunks.replace writes (as the indexer's work items)."""

    page: Any
    chunks: list[Any]
    fingerprint: str = "bench"


def build(data_dir: Path, size: int, embedder: object, seed: int = 0) -> object:
    """A knowledge base of `size` synthetic chunks (5 per page) under data_dir. Returns Settings."""
    from ingest.config import load_settings
    from ingest.index.gate import open_store
    from ingest.records import Chunk, Page
    from ingest.storage import Ledger, LedgerChunks

    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    settings = load_settings(data={"dir": str(data_dir)})
    store = open_store(settings, embedder)
    dims = int(embedder.dimensions)  # type: ignore[attr-defined]
    step = 5000
    with Ledger(settings.data_dir) as ledger:
        chunk_rows = LedgerChunks(ledger)
        for start in range(0, size, step):
            ids, metas, pages, chunks = [], [], {}, {}
            for i in range(start, min(size, start + step)):
                pid, idx = str(100000 + i // 5), i % 5
                space = ("ENG", "OPS", "HR")[int(pid) % 3]
                day = 1 + int(pid) % 28
                updated = f"2024-{1 + int(pid) % 12:02d}-{day:02d}T10:00:00.000Z"
                title = f"{rng.choice(COMPONENTS).title()} {rng.choice(TOPICS)} {pid}"
                url = f"https://example.atlassian.net/wiki/x/{pid}"
                if idx == 0:
                    pages[pid] = Page(pid, "page", space, title, url, 1, updated, labels=("bench",),
                                      read_groups=(f"team-{int(pid) % TEAMS}",), acl=team_acl(space, pid))
                chunk = Chunk(f"{pid}:{idx}", pid, idx, f"{space} › {title}", (), chunk_text(rng), f"h{i}",
                              120)
                chunks.setdefault(pid, []).append(chunk)
                ids.append(chunk.id)
                metas.append({"page_id": pid, "kind": "page", "space_key": space, "title": pages[pid].title,
                              "url": url, "heading_path": "", "version": 1,
                              "updated_at": pages[pid].updated_at,
                              "updated_ts": 1.7e9, "labels": ",bench,", "text_hash": f"h{i}",
                              "acl": pages[pid].acl,
                              "model_id": embedder.model_id})  # type: ignore[attr-defined]
            with ledger.tx():
                for page in pages.values():
                    ledger.upsert_page(page, None)
            chunk_rows.replace([_Work(pages[pid], rows) for pid, rows in chunks.items()])
            vecs = nprng.standard_normal((len(ids), dims)).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            store.upsert(ids, vecs, metas)
        chunk_rows.optimize()
        grant_access(ledger)
    return settings


def pct(values: list[float]) -> str:
    arr = np.asarray(values)
    return f"p50 {np.percentile(arr, 50):6.1f} ms  p95 {np.percentile(arr, 95):6.1f} ms"


def measure(settings: object, embedder: object, queries: list[str]) -> dict[str, list[float]]:
    from retrieval.query.answer import Answerer
    from retrieval.query.searcher import Searcher

    searcher = Searcher(settings, embedder=embedder)  # type: ignore[arg-type]
    answerer = Answerer(searcher)
    out: dict[str, list[float]] = {"embed": [], "hybrid": [], "dense": [], "lexical": [], "ask": [],
                                   "hybrid as user": [], "dense as user": [], "lexical as user": []}
    t0 = time.perf_counter()
    exact = searcher.vectors.sync()  # the exact scan's matrix, loaded once per process
    print(f"  exact scan: {'on' if exact else 'off'}, {searcher.vectors.size} vectors "
          f"({searcher.vectors.size * 384 * 4 / 1e6:.0f} MB) loaded in {time.perf_counter() - t0:.1f} s",
          flush=True)
    for q in queries[:3]:  # warm up: HNSW index load, SQLite pages
        searcher.search(q)
    for q in queries:
        t0 = time.perf_counter()
        vec = embedder.embed_query(q)  # type: ignore[attr-defined]
        out["embed"].append((time.perf_counter() - t0) * 1000)
        for mode in ("hybrid", "dense", "lexical"):
            t0 = time.perf_counter()
            searcher.search(q, mode=mode)  # embeds the query itself: the user's latency
            out[mode].append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            found = searcher.search(q, mode=mode, principal=BENCH_USER)
            out[f"{mode} as user"].append((time.perf_counter() - t0) * 1000)
            assert all(int(h.page_id) % TEAMS == 3 for h in found), "a hit the user may not view"
        t0 = time.perf_counter()
        answerer.ask(q)
        out["ask"].append((time.perf_counter() - t0) * 1000)
        del vec
    searcher.close()
    return out


def dense_recall(settings: object, embedder: object, queries: list[str],
                 k: int = 50) -> dict[str, tuple[float, float]]:
    """Mean and worst recall@k against an exact cosine search over every stored vector, for the
    queries' embeddings: of what dense search uses (`Searcher.vectors`: the exact scan up to [chroma]
    exact_search_max chunks, else the graph) and of the HNSW graph itself (`Store.query`)."""
    from ingest.index.gate import open_store
    from retrieval.query.searcher import Searcher

    store = open_store(settings, embedder, create=False)  # type: ignore[arg-type]
    searcher = Searcher(settings, embedder=embedder)  # type: ignore[arg-type]
    ids, parts = [], []
    for batch_ids, vectors in store.iter_vectors():  # embeddings only: metadata doubles the read
        ids.extend(batch_ids)
        parts.append(vectors)
    matrix = np.concatenate(parts)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    recalls: dict[str, list[float]] = {"search": [], "graph": []}
    for q in queries:
        vec = np.asarray(embedder.embed_query(q), dtype=np.float32)  # type: ignore[attr-defined]
        vec /= max(float(np.linalg.norm(vec)), 1e-12)
        exact = {ids[i] for i in np.argsort(-(matrix @ vec))[:k]}
        found = {"search": set(searcher.vectors.query_ids(vec, k)[0]),
                 "graph": {hit.id for hit in store.query(vec, k, include_metadata=False)}}
        for name, got in found.items():
            recalls[name].append(len(got & exact) / min(k, len(ids)))
    searcher.close()
    return {name: (float(np.mean(r)), float(np.min(r))) for name, r in recalls.items()}


def retune(settings: Any, ef_search: int) -> Any:
    """Settings whose ef_search is `ef_search`, with the built collection changed to match (bench only)."""
    from ingest.config import load_settings
    from ingest.storage.vectors import active_collection, hnsw_tag, make_client

    tuned = load_settings(data={"dir": str(settings.data_dir)},
                          chroma={**settings.chroma.model_dump(), "hnsw_ef_search": ef_search})
    client = make_client(tuned)
    collection = client.get_collection(active_collection(tuned), embedding_function=None)
    collection.modify(metadata={**(collection.metadata or {}), "hnsw": hnsw_tag(tuned)},
                      configuration={"hnsw": {"ef_search": ef_search}})
    client.clear_system_cache()  # the next client loads the index with the new breadth
    return tuned


def report(settings: Any, embedder: Any, queries: list[str]) -> None:
    """Latency lines, then dense recall@50 against an exact search, for `settings`' collection."""
    timings = measure(settings, embedder, queries)
    for name, values in timings.items():
        label = "query embedding" if name == "embed" else ("ask (extractive)" if name == "ask"
                                                            else f"search {name}")
        print(f"  {label:<26} {pct(values)}", flush=True)
    print(f"  'as user' sees {100 // TEAMS}% of the pages; ratio to unfiltered (p50): " + ", ".join(
        f"{m} {np.median(timings[f'{m} as user']) / np.median(timings[m]):.2f}x"
        for m in ("hybrid", "dense", "lexical")), flush=True)
    recall = dense_recall(settings, embedder, queries)
    c = settings.chroma
    mean, worst = recall["search"]
    print(f"  {'dense recall@50 (search)':<26} {mean:.4f} of an exact search (worst query {worst:.2f}); "
          f"exact scan up to {c.exact_search_max} chunks", flush=True)
    mean, worst = recall["graph"]
    print(f"  {'dense recall@50 (HNSW)':<26} {mean:.4f} (worst query {worst:.2f}); "
          f"M {c.hnsw_m}, ef_construction {c.hnsw_ef_construction}, ef_search {c.hnsw_ef_search}",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--keep", default="",
                        help="build the indexes under this dir and reuse them next time")
    parser.add_argument("--torch-threads", type=int, default=0,
                        help="OMP_NUM_THREADS for the model (0: torch's default). On a busy machine 1 is "
                             "far faster for one short query: OpenMP threads wait on each other")
    parser.add_argument("--exact-max", type=int, default=-1,
                        help="[chroma] exact_search_max for the searches (0: the HNSW graph only; "
                             "default: the setting's)")
    parser.add_argument("--ef-search", default="",
                        help="comma-separated ef_search values to measure on one build (default: the "
                             "setting's)")
    args = parser.parse_args()
    if args.torch_threads:
        os.environ["OMP_NUM_THREADS"] = str(args.torch_threads)
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(default)')}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    from ingest.config import load_settings
    from ingest.index.embed import load_embedder

    embedder = load_embedder(load_settings())
    rng = random.Random(42)
    queries = [fill(rng, rng.choice(QUESTIONS)) for _ in range(args.queries)]
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="kb-bench-query-") as tmp:
            where = Path(args.keep) / f"chunks-{size}" if args.keep else Path(tmp)
            t0 = time.perf_counter()
            if (where / "ledger.sqlite3").is_file():
                from ingest.config import load_settings as _load

                settings, built = _load(data={"dir": str(where)}), "reused"
            else:
                settings, built = build(where, size, embedder), f"built in {time.perf_counter() - t0:.0f}s"
            print(f"== {size} chunks ({built}), {len(queries)} queries")
            for ef in [int(e) for e in args.ef_search.split(",") if e] or [None]:
                if ef is not None:
                    settings = retune(settings, ef)
                    print(f" -- ef_search {ef}")
                exact_max = args.exact_max if args.exact_max >= 0 else settings.chroma.exact_search_max
                tuned = settings.model_copy(update={"chroma": settings.chroma.model_copy(
                    update={"exact_search_max": exact_max})})
                report(tuned, embedder, queries)


if __name__ == "__main__":
    main()
