"""Dense search by an exact scan of every vector, while the index is small enough to hold in memory.

HNSW is an approximation whose search breadth buys recall with time. On 100,000 random unit vectors
(bench/query.py, the hard case) only `ef_search` 4000 reached recall@50 >= 0.99 against an exact
search, and then a query cost 139 ms p50 in Chroma: at that breadth the graph visits about as many
vectors as there are. A plain scan of the same 100,000 x 384 float32 matrix, one BLAS call on one
thread, takes ~16 ms and is exact by definition, whatever the insertion order or the near-duplicates.

`ExactVectors` keeps the active collection's vectors in one normalised float32 matrix
(`[chroma] exact_search_max` vectors at most: 4 bytes x 384 dims each, ~150 MB at 100,000) and
answers `query_ids` like `Store.query_ids`. It stays in step with the index through the ledger:
the indexer writes Chroma first and the ledger's chunk rows (id, text_hash, the hash of exactly
what was embedded) after, so when the ledger changes (SQLite's data_version, checked at most every
CHECK_EVERY seconds) the chunk rows are diffed against what is held and only new or changed vectors
are read from Chroma. A reindex's switch to a new collection reloads everything. Above the limit,
or with 0, every query goes to the HNSW graph as before. Filters Chroma applies (`where`) stay
with Chroma.
"""

from __future__ import annotations

import threading
import time
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np

CHECK_EVERY = 0.5  # seconds between looks at the ledger's version
_BLAS: list[Any] = []  # threadpoolctl's controller, found once (finding the libraries costs 0.25 ms)


def _one_thread() -> AbstractContextManager[Any]:
    """BLAS on one thread for a query (the other core serves the next request; measured faster on a
    busy 2-core machine: 16 ms p50 against 21 ms with both)."""
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl comes with the pinned stack
            _BLAS.append(None)
        else:
            _BLAS.append(ThreadpoolController())
    return nullcontext() if _BLAS[0] is None else _BLAS[0].limit(limits=1)


class ExactVectors:
    """The store's vectors for an exact scan (see the module docstring); `query_ids` either way."""

    def __init__(self, store: Any, reads: Any, limit: int) -> None:
        self.store, self.reads, self.limit = store, reads, limit
        self._lock = threading.Lock()  # the matrix: held while it is read or changed
        self._syncing = threading.Lock()  # one thread brings it in step at a time
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._held: dict[str, str] = {}  # chunk id -> text_hash of the vector held
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._collection: str | None = None
        self._version: Any = None
        self._checked = 0.0
        self._ready = False
        self._asked = 0

    def rebind(self, store: Any, reads: Any) -> ExactVectors:
        """Serve a new store and ledger reader (a server reopening its Searcher after another process
        wrote the index) with the matrix held: the next sync reads only what changed."""
        self.store, self.reads, self._version = store, reads, None
        return self

    @property
    def size(self) -> int:
        return len(self._ids)

    def query_ids(self, vector: Any, n: int) -> tuple[list[str], list[float]]:
        """The n nearest chunk ids and their cosine distances (exact while held, else HNSW). The matrix
        is loaded at the second query of a process (or by `sync()`): a one-shot `kb search` would
        spend longer loading it than one HNSW query takes."""
        self._asked += 1
        if not self.sync(load=self._asked > 1, wait=False):
            return self.store.query_ids(vector, n)  # type: ignore[no-any-return]
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        query = query / (float(np.linalg.norm(query)) or 1.0)
        with self._lock:
            count = len(self._ids)
            if count == 0:
                return [], []
            with _one_thread():
                scores = self._matrix[:count] @ query
            n = min(max(1, n), count)
            top = np.argpartition(-scores, n - 1)[:n] if n < count else np.arange(count)
            top = top[np.argsort(-scores[top], kind="stable")]
            return [self._ids[i] for i in top], [float(1.0 - scores[i]) for i in top]

    def warm(self) -> None:
        """Load (or bring in step) in a background thread; queries use HNSW until the matrix is ready
        (at 100,000 chunks the first read of embedded Chroma takes 10-30 s here)."""
        threading.Thread(target=self.sync, name="kb-exact-load", daemon=True).start()

    def sync(self, *, load: bool = True, wait: bool = True) -> bool:
        """Bring the matrix in step with the ledger (at most every CHECK_EVERY s); True when exact
        search can answer. Without `load`, a matrix not loaded yet stays so; without `wait`, a sync
        under way in another thread is not waited for (the matrix as it is answers, if ready)."""
        if self.limit <= 0 or (self._collection is None and not load):
            return False
        if not self._syncing.acquire(blocking=wait):
            return self._ready
        try:
            return self._sync()
        finally:
            self._syncing.release()

    def _sync(self) -> bool:
        now = time.monotonic()
        if self._version is not None and now - self._checked < CHECK_EVERY:
            return self._ready
        self._checked = now
        changed = self.reads.chunk_hashes_if_changed(self._version)
        name = self._active(force=changed is not None)  # a switch is a ledger change too
        if changed is None and name == self._collection:
            return self._ready
        version, hashes = changed if changed is not None else (self._version, self.reads.chunk_hashes())
        if len(hashes) > self.limit:
            with self._lock:
                self._reset()
            self._version, self._collection = version, name
            return False
        try:
            self._load(hashes, full=name != self._collection)
        except Exception:  # the collection was dropped under us (a reindex): follow it, once
            name = self._active(force=True)
            try:
                self._load(hashes, full=True)
            except Exception:
                with self._lock:
                    self._reset()
                self._version = None
                return False  # HNSW answers (it follows the switch itself); the next query retries
        self._version, self._collection, self._ready = version, name, True
        return True

    def _active(self, force: bool = False) -> str:
        follow = getattr(self.store, "follow", None)
        return str(follow(force) if follow is not None else self.store.name)

    def _load(self, hashes: dict[str, str], *, full: bool) -> None:
        if full:
            self._load_all(hashes)
        else:
            self._apply(hashes)

    # -- keeping in step --------------------------------------------------------------------------
    def _reset(self) -> None:
        self._ids, self._pos, self._held = [], {}, {}
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._ready = False

    def _load_all(self, hashes: dict[str, str]) -> None:
        """Every vector of the (new) active collection whose chunk the ledger lists (embeddings only:
        ~7 s per 100,000 from embedded Chroma here, once per process)."""
        ids: list[str] = []
        parts: list[np.ndarray] = []
        for batch_ids, vectors in self.store.iter_vectors():
            keep = [i for i, cid in enumerate(batch_ids) if cid in hashes]
            ids.extend(batch_ids[i] for i in keep)
            parts.append(vectors[keep])
        matrix = _normalised(np.concatenate(parts)) if ids else np.zeros((0, 0), dtype=np.float32)
        with self._lock:
            self._ids, self._matrix = ids, matrix
            self._held = {cid: hashes[cid] for cid in ids}
            self._pos = {cid: i for i, cid in enumerate(ids)}

    def _apply(self, hashes: dict[str, str]) -> None:
        """Drop what the ledger no longer lists; read what is new or re-embedded."""
        gone = [cid for cid in self._held if cid not in hashes]
        wanted = [cid for cid, h in hashes.items() if self._held.get(cid) != h]
        fetched = self.store.get(wanted, vectors=True) if wanted else {}
        with self._lock:
            for cid in gone:
                self._remove(cid)
            for cid, (vec, meta) in fetched.items():
                if vec is not None:
                    self._put(cid, vec, str(meta.get("text_hash") or hashes.get(cid, "")))

    def _remove(self, cid: str) -> None:
        i = self._pos.pop(cid)
        last = len(self._ids) - 1
        if i != last:  # the last row fills the hole
            moved = self._ids[last]
            self._ids[i], self._matrix[i] = moved, self._matrix[last]
            self._pos[moved] = i
        self._ids.pop()
        del self._held[cid]

    def _put(self, cid: str, vec: np.ndarray, text_hash: str) -> None:
        row = _normalised(np.asarray(vec, dtype=np.float32).reshape(1, -1))[0]
        if cid in self._pos:
            self._matrix[self._pos[cid]] = row
        else:
            count = len(self._ids)
            if self._matrix.shape[1] != row.shape[0]:
                self._matrix = np.zeros((max(16, count), row.shape[0]), dtype=np.float32)
            if count >= self._matrix.shape[0]:  # grow by half: appends stay amortised O(1)
                grown = np.zeros((max(16, count + count // 2), row.shape[0]), dtype=np.float32)
                grown[:count] = self._matrix[:count]
                self._matrix = grown
            self._matrix[count] = row
            self._pos[cid] = count
            self._ids.append(cid)
        self._held[cid] = text_hash


def _normalised(matrix: np.ndarray) -> np.ndarray:
    if matrix.size == 0:
        return matrix
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(matrix / norms, dtype=np.float32)

