"""The vector store: one Chroma collection in cosine space, behind a small `Store`.

This is the only module that imports chromadb (lazily). Embedded Chroma (`PersistentClient` under
`data_dir/chroma`) by default; a server started with `chroma run` (`HttpClient`) when
`[chroma] host` is set. We pass vectors ourselves; Chroma's column-shaped results become `StoreHit`s
here. The ACTIVE collection's name lives in the ledger's meta table ('active_collection'), so that
`kb reindex` can build a new collection beside it and switch atomically.

Version gate: each collection's metadata records the model id, dimensions, chunker fingerprint,
HNSW breadth and index schema version (computed by the index, `ingest.index.collection_gate`, and
handed in: the store knows nothing of chunkers or models); opening one built otherwise raises
IndexMismatch ("run `kb reindex`").
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ingest.config import Settings
from ingest.errors import ConfigError, IndexMismatch, NotReady
from ingest.storage.ledger import Ledger, peek_meta

T = TypeVar("T")

INDEX_SCHEMA = 1
ACTIVE_KEY = "active_collection"
GATE_KEYS = ("model_id", "dimensions", "chunker", "index_schema", "hnsw")
FOLLOW_EVERY = 0.2  # seconds between checks of the active collection's name


@dataclass(frozen=True)
class StoreHit:
    id: str
    distance: float  # cosine distance: 0 identical, 2 opposite
    metadata: dict[str, Any]


def make_client(settings: Settings) -> Any:
    """A Chroma client: HttpClient for `[chroma] host`, else PersistentClient under the data dir."""
    import chromadb
    from chromadb.config import Settings as ChromaConfig

    config = ChromaConfig(anonymized_telemetry=False)
    if settings.chroma.host:
        try:
            return chromadb.HttpClient(host=settings.chroma.host, port=settings.chroma.port, settings=config)
        except Exception as exc:
            where = f"{settings.chroma.host}:{settings.chroma.port}"
            raise ConfigError(f"cannot reach the Chroma server at {where}: {exc}",
                              "start it with `chroma run --path DIR --port PORT`, or clear [chroma] host "
                              "to use the embedded store") from exc
    path = Path(settings.data_dir) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=config)


# -- the active collection's name, in the ledger's meta table -------------------------------------
def active_collection(settings: Settings) -> str | None:
    """The active collection's name from the ledger, or None before the first ingest."""
    return peek_meta(settings.data_dir, ACTIVE_KEY)


def set_active_collection(ledger: Ledger, name: str) -> None:
    """Switch the active collection: one committed row, atomic for every reader."""
    with ledger.tx():
        ledger.set_meta(ACTIVE_KEY, name)


class Store:
    """One Chroma collection. With `follow_active`, queries follow `kb reindex`'s switch."""

    def __init__(self, client: Any, collection: Any, *, settings: Settings | None = None,
                 gate: Mapping[str, Any] | None = None, follow_active: bool = False) -> None:
        self._client = client
        self._collection = collection
        self._settings = settings
        self._gate = dict(gate or {})
        self._follow = follow_active
        self._lock = threading.Lock()
        self._checked = 0.0

    @property
    def name(self) -> str:
        return str(self._collection.name)

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self._collection.metadata or {})

    def forget_process_cache(self) -> None:
        """Make the next store opened on this path read the collection from disk. Embedded Chroma
        keeps one system per path in a process, with its in-memory index: a long-lived reader (the
        server) does not see what another process wrote until it drops that cache and opens anew.
        A Chroma server is shared by every process: nothing to do."""
        if hasattr(self._client, "clear_system_cache"):
            self._client.clear_system_cache()

    # -- writes ---------------------------------------------------------------------------------
    def upsert(self, ids: Sequence[str], vectors: np.ndarray | Sequence[Sequence[float]],
               metadatas: Sequence[Mapping[str, Any]], documents: Sequence[str] | None = None) -> None:
        """Insert or replace by id (never add), in batches the client accepts."""
        if not ids:
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        step = max(1, min(self._client.get_max_batch_size(), 4096))
        for start in range(0, len(ids), step):
            end = start + step
            self._collection.upsert(ids=list(ids[start:end]), embeddings=vectors[start:end],
                                    metadatas=[dict(m) for m in metadatas[start:end]],
                                    documents=list(documents[start:end]) if documents is not None else None)

    def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        step = max(1, min(self._client.get_max_batch_size(), 4096))
        for start in range(0, len(ids), step):
            self._collection.delete(ids=ids[start:start + step])

    def delete_pages(self, page_ids: Sequence[str]) -> None:
        """Every chunk of these pages, whatever the ledger knows of them."""
        for start in range(0, len(page_ids), 500):
            self._collection.delete(where={"page_id": {"$in": list(page_ids[start:start + 500])}})

    # -- reads ----------------------------------------------------------------------------------
    def get(self, ids: Sequence[str], *, vectors: bool = True) -> dict[str, tuple[np.ndarray | None, dict]]:
        """id -> (vector or None, metadata) for the ids that exist."""
        include = ["metadatas", "embeddings"] if vectors else ["metadatas"]
        out: dict[str, tuple[np.ndarray | None, dict]] = {}
        ids = list(ids)
        for start in range(0, len(ids), 1000):
            got = self._collection.get(ids=ids[start:start + 1000], include=include)
            embs = got.get("embeddings") if vectors else None
            for i, cid in enumerate(got["ids"]):
                vec = np.asarray(embs[i], dtype=np.float32) if embs is not None else None
                out[cid] = (vec, dict(got["metadatas"][i] or {}))
        return out

    def get_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        return {cid: vec for cid, (vec, _) in self.get(ids).items() if vec is not None}

    def ids_of_pages(self, page_ids: Sequence[str]) -> dict[str, set[str]]:
        """page id -> the chunk ids Chroma holds for it (orphans of a crash included)."""
        out: dict[str, set[str]] = {pid: set() for pid in page_ids}
        for start in range(0, len(page_ids), 500):
            got = self._collection.get(where={"page_id": {"$in": list(page_ids[start:start + 500])}},
                                       include=["metadatas"])
            for cid, meta in zip(got["ids"], got["metadatas"] or [], strict=False):
                out.setdefault(str((meta or {}).get("page_id", "")), set()).add(cid)
        return out

    def iter_all(self, batch: int = 1000, *, vectors: bool = False) -> Iterator[tuple[str, np.ndarray | None,
                                                                                      dict]]:
        """Every (id, vector, metadata), in pages of `batch`."""
        include = ["metadatas", "embeddings"] if vectors else ["metadatas"]
        offset = 0
        while True:
            got = self._collection.get(include=include, limit=batch, offset=offset)
            if not got["ids"]:
                return
            embs = got.get("embeddings") if vectors else None
            for i, cid in enumerate(got["ids"]):
                vec = np.asarray(embs[i], dtype=np.float32) if embs is not None else None
                yield cid, vec, dict(got["metadatas"][i] or {})
            offset += len(got["ids"])

    def iter_vectors(self, batch: int = 10_000) -> Iterator[tuple[list[str], np.ndarray]]:
        """Every (ids, vectors) in pages of `batch`: embeddings only (metadata doubles the time)."""
        offset = 0
        while True:
            got = self._collection.get(include=["embeddings"], limit=batch, offset=offset)
            if not got["ids"]:
                return
            yield list(got["ids"]), np.asarray(got["embeddings"], dtype=np.float32)
            offset += len(got["ids"])

    def query(self, vector: np.ndarray | Sequence[float], n: int, where: Mapping[str, Any] | None = None,
              *, include_metadata: bool = True) -> list[StoreHit]:
        """The n nearest chunks (cosine distance), optionally filtered by metadata. Without
        `include_metadata` the hits carry ids and distances only (what fusion needs; cheaper)."""
        return self._followed(lambda: self._query(vector, n, where, include_metadata))

    def query_ids(self, vector: np.ndarray | Sequence[float], n: int) -> tuple[list[str], list[float]]:
        """The n nearest chunk ids and their cosine distances, unfiltered, as two plain lists (a large
        pool, read without building a hit per row)."""
        res = self._followed(lambda: self._collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=max(1, n),
            include=["distances"]))
        return list(res["ids"][0]), list(res["distances"][0])

    def _query(self, vector: Any, n: int, where: Mapping[str, Any] | None, metadata: bool) -> list[StoreHit]:
        collection = self._collection
        res = collection.query(query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=max(1, n),
                               where=dict(where) if where else None,
                               include=["metadatas", "distances"] if metadata else ["distances"])
        ids, dists = res["ids"][0], res["distances"][0]
        metas = res["metadatas"][0] if metadata else [None] * len(ids)
        return [StoreHit(cid, float(d), dict(m or {})) for cid, d, m in zip(ids, dists, metas, strict=False)]

    def count(self) -> int:
        return int(self._followed(lambda: self._collection.count()))

    def follow(self, force: bool = False) -> str:
        """The name of the collection reads go to, reopened first when a reindex switched it."""
        self._follow_switch(force)
        return self.name

    def _followed(self, read: Callable[[], T]) -> T:
        """`read()` on the active collection; when it fails because the active collection was
        switched under us (a reindex), reopen the new one and read once more."""
        self._follow_switch()
        try:
            return read()
        except Exception:
            if not self._follow or not self._follow_switch(force=True):
                raise
            return read()

    def _follow_switch(self, force: bool = False) -> bool:
        """When following the active collection and it changed, reopen it. True when switched.
        The ledger is read at most every FOLLOW_EVERY seconds, or at once after an error."""
        if not self._follow:
            return False
        now = time.monotonic()
        if not force and now - self._checked < FOLLOW_EVERY:
            return False
        self._checked = now
        assert self._settings is not None, "a store that follows the active collection knows its settings"
        name = active_collection(self._settings)
        if name is None or name == self._collection.name:
            return False
        with self._lock:
            if name != self._collection.name:
                self._collection = _open_checked(self._client, name, self._gate)
        return True


def _open_checked(client: Any, name: str, gate: Mapping[str, Any]) -> Any:
    """Open an existing collection and check the version gate."""
    from chromadb.errors import NotFoundError

    try:
        collection = client.get_collection(name, embedding_function=None)
    except NotFoundError as exc:
        raise IndexMismatch(f"the active collection {name!r} is missing from Chroma",
                            "run `kb reindex` to rebuild it from the ledger", {"collection": name}) from exc
    check_gate(collection.metadata or {}, gate, name)
    return collection


def check_gate(found: Mapping[str, Any], wanted: Mapping[str, Any], name: str) -> None:
    """Raise IndexMismatch naming what differs between the collection and this configuration."""
    diffs = [f"{key}: index has {found.get(key)!r}, config wants {wanted[key]!r}"
             for key in GATE_KEYS if found.get(key) != wanted[key]]
    if diffs:
        raise IndexMismatch(f"the index ({name}) was built differently — " + "; ".join(diffs),
                            "run `kb reindex` to rebuild it with the current settings",
                            {"collection": name, "differs": [d.split(":")[0] for d in diffs]})


def hnsw_tag(settings: Settings) -> str:
    """The HNSW graph's build and search breadth, as the gate records it ("M=32,ef_construction=...").

    Chroma's defaults (M 16, ef 100) collapse on a page of near-duplicates and find about a third of
    the true top 50 on 100k random vectors; the defaults in config.py are measured (bench/query.py
    prints dense recall@50 against an exact search)."""
    c = settings.chroma
    return f"M={c.hnsw_m},ef_construction={c.hnsw_ef_construction},ef_search={c.hnsw_ef_search}"


def _hnsw_config(tag: str | None) -> dict[str, Any]:
    names = {"M": "max_neighbors", "ef_construction": "ef_construction", "ef_search": "ef_search"}
    pairs = (part.split("=", 1) for part in (tag or "").split(",") if "=" in part)
    return {names[k]: int(v) for k, v in pairs if k in names}


def create_collection(client: Any, name: str, gate: Mapping[str, Any]) -> Any:
    """A new, empty collection stamped with the gate (replacing a leftover of the same name), its HNSW
    graph built with the gate's breadth (`hnsw_tag`)."""
    from chromadb.errors import NotFoundError

    with contextlib.suppress(NotFoundError):
        client.delete_collection(name)
    hnsw = {"space": "cosine", **_hnsw_config(gate.get("hnsw"))}
    return client.create_collection(name, configuration={"hnsw": hnsw}, metadata=dict(gate),
                                    embedding_function=None)


def open_collection(settings: Settings, gate: Mapping[str, Any], *, collection: str | None = None,
                    create: bool = True, client: Any = None) -> Store:
    """The active collection (or the named one), checked against `gate` (what the index's
    settings require: `ingest.index.collection_gate`).

    Before the first ingest there is no active collection: with `create`, one named
    `[chroma] collection` is created and recorded as active; without, NotReady is raised.
    """
    client = client or make_client(settings)
    if collection is not None:
        return Store(client, _open_checked(client, collection, gate), settings=settings, gate=gate)
    name = active_collection(settings)
    if name is None:
        if not create:
            raise NotReady("the knowledge base is empty", "run `kb ingest` first")
        name = settings.chroma.collection
        col = create_collection(client, name, gate)
        with Ledger(settings.data_dir) as ledger:
            set_active_collection(ledger, name)
        return Store(client, col, settings=settings, gate=gate, follow_active=True)
    return Store(client, _open_checked(client, name, gate), settings=settings, gate=gate, follow_active=True)


def drop_collection(client: Any, name: str) -> None:
    from chromadb.errors import NotFoundError

    with contextlib.suppress(NotFoundError):
        client.delete_collection(name)


def list_collections(client: Any) -> list[str]:
    return [c.name if hasattr(c, "name") else str(c) for c in client.list_collections()]
