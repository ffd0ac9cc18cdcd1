"""The engine seam of the server (`Engine`) and the real engine behind it (`KBEngine`).

`Engine` is what the HTTP layer talks to: `search`, `ask`, `status` (plain dicts out), an optional
`rewrite` (an LLM that turns a follow-up into a standalone question) and `close`. Tests inject small
fakes; `KBEngine` is the Searcher and Answerer.

`KBEngine.open(settings)` loads the embedding model once and opens the ledger and the active
collection. Before the first ingest the knowledge base does not exist yet: the engine still opens,
requests answer 503 (NotReady) and it retries on the next request, so `kb serve` may start first.
The ledger is read in WAL mode and the store follows `kb reindex`'s switch of the active collection
(ingest/storage/vectors.py), so searches keep working while an ingest or a reindex runs in another process.

Freshness: embedded Chroma keeps a collection's vector index in memory and does not see vectors that
another process writes (counts do, queries do not). So the engine watches the ledger (at most once a
second: `PRAGMA data_version`, and the runs table) and re-opens the Searcher with a fresh Chroma client
when a run finishes, or, while one is writing, at most every `REFRESH_SECONDS`. In-flight requests
finish on the old one.

With `local_writer` (`kb serve --sync`: the sync loop writes from a thread of this process) there is
nothing to refresh and nothing may be dropped: every Chroma client on the data dir in one process
shares one system, so a poll's vectors are visible to the next query at once (and the exact scan and
the lexical index follow the ledger), while dropping the process's Chroma cache would stop the
system under the loop's writes.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from ingest.config import Settings
from ingest.errors import NotReady
from ingest.storage.ledger import LedgerWatch

log = logging.getLogger("kb.server")
CHECK_SECONDS = 1.0
REFRESH_SECONDS = 10.0

class Engine(Protocol):
    """The seam between the HTTP layer and the knowledge base. All methods block; the server runs
    them in a worker thread. Results are plain JSON-ready dicts (the dataclasses' `to_dict()`)."""

    rewrite: Callable[[str, Sequence[dict[str, str]]], str] | None

    # `principal` is required: the server always says who is asking (ANONYMOUS when nobody is).
    def search(self, query: str, *, principal: Any, k: int | None = None,
               filters: dict[str, Any] | None = None,
               mode: str | None = None) -> list[dict[str, Any]]: ...

    def ask(self, question: str, *, principal: Any, k: int | None = None,
            filters: dict[str, Any] | None = None,
            history: Sequence[dict[str, str]] | None = None) -> dict[str, Any]: ...

    def status(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class KBEngine:
    """Search, ask and status over the knowledge base; thread-safe (the Searcher locks its SQL)."""

    def __init__(self, settings: Settings, *, embedder: Any = None, llm: Any = None,
                 local_writer: bool = False) -> None:
        self.settings = settings
        self._embedder = embedder
        self.local_writer = local_writer
        self._llm = llm
        self._searcher: Any = None
        self._answerer: Any = None
        self._lock = threading.Lock()
        self._watch: LedgerWatch | None = None
        self._seen: tuple[Any, ...] | None = None
        self._checked = self._opened = 0.0
        conf = settings.llm
        self.rewrite: Callable[[str, Sequence[dict[str, str]]], str] | None = (
            self._rewrite if (llm is not None or conf.provider or conf.model) else None)

    @property
    def embedder(self) -> Any:
        """The loaded model (the sync loop of `kb serve --sync` embeds with it too)."""
        return self._embedder

    @classmethod
    def open(cls, settings: Settings, *, embedder: Any = None, llm: Any = None,
             local_writer: bool = False) -> KBEngine:
        """Load the model and open the stores now; an index built differently raises IndexMismatch."""
        if embedder is None:
            from ingest.index.embed import load_embedder

            embedder = load_embedder(settings)
        engine = cls(settings, embedder=embedder, llm=llm, local_writer=local_writer)
        try:
            engine._parts()
        except NotReady as err:
            log.warning("%s — requests answer 503 until then", err)
        return engine

    def _parts(self) -> tuple[Any, Any]:
        """The Searcher and Answerer, opened on first use (retried while the KB is not built) and
        re-opened when another process has changed the index (see the module docstring)."""
        with self._lock:
            old = None
            if self._searcher is not None and self._stale():
                _forget_chroma_cache(self._searcher)
                old, self._searcher, self._answerer = self._searcher, None, None  # in flight: the old ones
            if self._searcher is None:
                from retrieval.query.answer import Answerer
                from retrieval.query.searcher import Searcher

                searcher = Searcher(self.settings, embedder=self._embedder)
                try:
                    searcher.store  # noqa: B018  open the active collection and check its gate now
                    if old is not None:
                        searcher.adopt_vectors(old)  # the exact-scan matrix: only changes are re-read
                    searcher.vectors.warm()  # loads in the background; HNSW answers meanwhile
                except BaseException:
                    searcher.close()
                    raise
                self._searcher, self._answerer = searcher, Answerer(searcher, llm=self._llm)
                self._opened = time.monotonic()
            return self._searcher, self._answerer

    def _stale(self) -> bool:
        """True when the index changed in another process: a run finished, or writes are under way
        and the Searcher is older than REFRESH_SECONDS. Checked at most every CHECK_SECONDS."""
        now = time.monotonic()
        if now - self._checked < CHECK_SECONDS or self.settings.chroma.host or self.local_writer:
            return False  # a Chroma server, or this process's own writes: nothing to refresh
        self._checked = now
        if self._watch is None:
            self._watch = LedgerWatch(self.settings.data_dir)
        state = self._watch.state()
        if state is None:
            return False
        version, runs = state[0], state[1:]
        seen, self._seen = self._seen, (runs, version)
        if seen is None or seen == self._seen:
            return False
        return seen[0] != runs or now - self._opened >= REFRESH_SECONDS

    # -- the Engine seam ---------------------------------------------------------------------------
    def search(self, query: str, *, principal: Any, k: int | None = None,
               filters: dict[str, Any] | None = None,
               mode: str | None = None) -> list[dict[str, Any]]:
        searcher, _ = self._parts()
        hits = searcher.search(query, k=k, filters=filters, mode=mode, principal=principal)
        return [hit.to_dict() for hit in hits]

    def ask(self, question: str, *, principal: Any, k: int | None = None,
            filters: dict[str, Any] | None = None,
            history: Sequence[dict[str, str]] | None = None) -> dict[str, Any]:
        _, answerer = self._parts()
        answer = answerer.ask(question, filters=filters, k=k, history=history, principal=principal)
        return answer.to_dict()  # type: ignore[no-any-return]

    def ask_events(self, question: str, *, principal: Any, k: int | None = None,
                   filters: dict[str, Any] | None = None,
                   history: Sequence[dict[str, str]] | None = None) -> Iterator[tuple[str, Any]]:
        """`ask` in two steps, for streaming: ("hits", [hit dicts]) once the search is done, then
        ("answer", the answer dict) — the same answer `ask` gives, from the same search."""
        searcher, answerer = self._parts()
        qvec = _unit(searcher.embedder.embed_query(question))  # as Answerer.ask does
        hits = searcher.search(question, k=k, filters=filters, query_vector=qvec, principal=principal)
        yield "hits", [hit.to_dict() for hit in hits]
        yield "answer", answerer.answer(question, hits, history=history, query_vector=qvec).to_dict()

    def status(self) -> dict[str, Any]:
        """kb_status without the data dir's path: a caller has no use for the server's filesystem."""
        from retrieval.http.guard import scrub

        out = kb_status(self.settings, self._embedder, self._searcher)
        out.pop("data_dir", None)
        for key in ("sync", "freshness"):  # error texts may name a path under the data dir
            if out.get(key):
                out[key] = json.loads(scrub(json.dumps(out[key]), self.settings))
        return out

    def after_poll(self, _result: Any = None) -> None:
        """The sync loop of this process finished a poll (`kb serve --sync`): bring the exact-scan
        matrix in step now rather than at its next look (at most CHECK_EVERY later), so every search
        after a poll sees all of it; lexical search reads the ledger and sees each commit at once."""
        searcher = self._searcher
        vectors = getattr(searcher, "_exact", None) if searcher is not None else None
        if vectors is not None:
            vectors._checked = 0.0  # look at the ledger now: the poll just committed
            vectors.sync(load=False)

    def close(self) -> None:
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = self._answerer = None
            if self._watch is not None:
                self._watch.close()
                self._watch = None

    # -- follow-ups through the LLM ------------------------------------------------------------------
    def _rewrite(self, question: str, history: Sequence[dict[str, str]]) -> str:
        """The LLM's standalone form of `question`; raises when no LLM can be used (the caller falls
        back to the rule)."""
        from retrieval.query.followups import llm_rewrite

        _, answerer = self._parts()
        warnings: list[str] = []
        llm = answerer.chat_model(warnings)
        if llm is None:
            raise RuntimeError("no LLM available")
        return llm_rewrite(llm, question, history)


def _unit(values: Any) -> Any:
    """A float32 unit vector (Answerer.ask normalises its query vector the same way)."""
    import numpy as np

    vec = np.asarray(values, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm > 0 else vec


def _forget_chroma_cache(searcher: Any) -> None:
    """Make the next embedded Chroma client load the collection from disk: a new client on the same
    path otherwise reuses the process's cached system, with its stale in-memory index."""
    store = getattr(searcher, "_store", None)  # only a store the searcher has opened
    if store is not None:
        store.forget_process_cache()


def kb_status(settings: Settings, embedder: Any = None, searcher: Any = None) -> dict[str, Any]:
    """`kb status`'s report (ingest.pipeline.status), plus the served model and the vector count."""
    from ingest.pipeline import status

    out = status(settings)
    out["model"] = getattr(embedder, "model_id", out.get("model"))
    if searcher is not None:
        try:
            out["vectors"] = searcher.store.count()
        except Exception as exc:  # status must answer even when the store does not
            out["vectors_error"] = type(exc).__name__
    return out


def refuse_if_writing(settings: Settings) -> None:
    """`kb serve --sync` is the data dir's writer: refuse at once while another one holds the lock."""
    from ingest.errors import Busy
    from ingest.storage.lock import is_held

    if is_held(settings.data_dir):
        raise Busy(f"cannot serve --sync: another kb sync, ingest or reindex is writing {settings.data_dir}",
                   "stop it first, or run `kb serve` without --sync (it follows the other writer's changes)")


def sync_loop(settings: Settings, engine: Any) -> Any:
    """The sync loop of `kb serve --sync`, embedding with the engine's model (loaded once)."""
    from ingest.sync.loop import SyncLoop

    return SyncLoop(settings, embedder=getattr(engine, "embedder", None), mode="serve",
                    on_poll=getattr(engine, "after_poll", None))
