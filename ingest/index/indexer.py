"""The index: keep the Chroma collection and the ledger's chunks equal to the pulled pages.

Work per page is decided by `pages.indexed_hash`, a fingerprint of everything that goes into the
page's chunks and their metadata (content part : context part; a context change is a "move").
A page to redo is cleaned and chunked (on a prefetch thread, overlapping the embedding), then
replaced in this order, a group of pages at a time:
  1. upsert the page's chunks into Chroma (vectors reused by text hash, the rest embedded in one
     batch across the group's pages);
  2. delete the page's stale chunk ids (what Chroma or the ledger holds beyond the new ids);
  3. one ledger transaction: the page's chunk rows (FTS5 follows by trigger) and indexed_version/hash.
A crash between the steps leaves the old fingerprint in the ledger, so the next run redoes the page.
Trashed and deleted pages (tombstones) lose their chunks in Chroma, then in the ledger.

The ledger queries of the index live in `ingest.chunk_rows`.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from ingest.config import Settings
from ingest.index.embed import Embedder
from ingest.index.seams import Chunking, Cleaning, RowSink, VectorStore
from ingest.records import Chunk, Comment, Page, sha256
from ingest.storage.chunks import LedgerChunks
from ingest.storage.comments import LedgerComments
from ingest.storage.ledger import Ledger
from ingest.text.comments import comment_blocks, comments_digest
from ingest.text.properties import page_properties

Progress = Callable[[int, int | None, str], None]
FLUSH_PAGES = 256


@dataclass(frozen=True)
class IndexReport:
    """What one index pass did. `to_dict()` gives the `--json` keys."""

    pages_new: int = 0
    pages_changed: int = 0
    pages_unchanged: int = 0
    pages_moved: int = 0
    pages_deleted: int = 0
    pages_failed: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    chunks_deleted: int = 0
    chunks_written: int = 0
    seconds: float = 0.0
    failures: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    warnings: tuple[tuple[str, str], ...] = field(default=(), compare=False)  # pages cut to their bounds

    @property
    def pages_seen(self) -> int:
        return self.pages_new + self.pages_changed + self.pages_unchanged + self.pages_moved

    def to_dict(self) -> dict[str, Any]:
        secs = self.seconds
        return {
            "pages": {"new": self.pages_new, "changed": self.pages_changed, "unchanged": self.pages_unchanged,
                      "moved": self.pages_moved, "deleted": self.pages_deleted, "failed": self.pages_failed},
            "chunks": {"embedded": self.chunks_embedded, "reused": self.chunks_reused,
                       "deleted": self.chunks_deleted, "written": self.chunks_written},
            "seconds": round(secs, 3),
            "pages/s": round(self.pages_seen / secs, 1) if secs > 0 else 0.0,
            "chunks/s": round(self.chunks_written / secs, 1) if secs > 0 else 0.0,
            "failures": [{"page_id": pid, "error": msg} for pid, msg in self.failures],
            "warnings": [{"page_id": pid, "warning": msg} for pid, msg in self.warnings],
        }


# -- fingerprints and metadata --------------------------------------------------------------------
_MENTION = re.compile(r'ri:account-id="([^"]+)"')


def page_fingerprint(page: Page, chunker_id: str, model_id: str,
                     users: Mapping[str, str] | None = None, comments: Sequence[Comment] = ()) -> str:
    """`content:context` — content covers body and every metadata field; context the page's place.
    A page that mentions people also covers their display names, so it is redone when a name
    becomes known (a mention reads "(unknown user)" until a pull has seen the person)."""
    content: list[Any] = [page.kind, page.version, page.updated_at, page.url, sorted(page.labels),
                          list(page.read_users), list(page.read_groups), sha256(page.body_html), chunker_id,
                          model_id]
    content.append(page.acl)  # who may see it: a new class is a metadata update (vectors reused)
    mentioned = sorted(set(_MENTION.findall(page.body_html)))
    if mentioned:  # only then: pages without mentions keep the fingerprints they had
        content.append([[uid, (users or {}).get(uid, "")] for uid in mentioned])
    if comments:  # only then, likewise: a new comment redoes the page (its other chunks reused)
        content.append(comments_digest(comments))
    context = [page.space_key, page.space_name, page.title, [[a.id, a.title] for a in page.ancestors]]
    return (sha256(json.dumps(content, ensure_ascii=False))[:32] + ":"
            + sha256(json.dumps(context, ensure_ascii=False))[:32])


def _epoch(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def chunk_metadata(page: Page, chunk: Chunk, model_id: str) -> dict[str, Any]:
    """The flat Chroma metadata of one chunk (CONTRACTS: Chunk metadata), plus chunk_index."""
    return {
        "page_id": page.id, "kind": page.kind, "space_key": page.space_key, "space_name": page.space_name,
        "title": page.title, "url": page.url, "heading_path": " › ".join(chunk.heading_path),
        "anchor": chunk.anchor,
        "version": int(page.version), "updated_at": page.updated_at, "updated_ts": _epoch(page.updated_at),
        "labels": ("," + ",".join(page.labels) + ",") if page.labels else "",
        "text_hash": chunk.text_hash, "model_id": model_id, "chunk_index": chunk.index,
        "read_users": ",".join(page.read_users), "read_groups": ",".join(page.read_groups),
        "acl": page.acl,
    }


# -- one page's pending work ----------------------------------------------------------------------
@dataclass
class _Work:
    page: Page
    fingerprint: str
    state: str  # new | changed | moved
    chunks: list[Chunk]
    vectors: list[np.ndarray | None] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # the page's bounds (ingest/text/_bound.py)
    properties: str = "{}"  # JSON of the page's Page Properties (ingest/text/properties.py)


@dataclass
class _Tally:
    pages: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("new", "changed", "unchanged", "moved", "deleted", "failed"), 0))
    embedded: int = 0
    reused: int = 0
    deleted: int = 0
    written: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)

    def report(self, seconds: float) -> IndexReport:
        p = self.pages
        return IndexReport(p["new"], p["changed"], p["unchanged"], p["moved"], p["deleted"], p["failed"],
                           self.embedded, self.reused, self.deleted, self.written, seconds,
                           tuple(self.failures), tuple(self.warnings))


def prefetch(items: Iterable[Any], fn: Callable[[Any], Any], depth: int = 64) -> Iterator[Any]:
    """`fn(item)` for each item, computed on a background thread `depth` ahead (cleaning overlaps
    embedding). The items' iterator is closed on that thread, whatever happens."""
    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(kind: str, value: Any) -> bool:
        while not stop.is_set():
            try:
                q.put((kind, value), timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        it = iter(items)
        try:
            for item in it:
                if not put("item", fn(item)):
                    return
            put("end", None)
        except BaseException as exc:  # handed to the consumer, raised there
            put("error", exc)
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="kb-index-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        thread.join(timeout=30)


class _Writer:
    """Commits groups in order on one thread, one group behind the embedding; results are
    tallied on the caller's thread."""

    def __init__(self, tally: _Tally, owned: Any = None) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-index-writer")
        self._last: Any = None
        self._tally = tally
        self._owned = owned

    def submit(self, fn: Callable[..., tuple[Any, ...]], *args: Any) -> None:
        self.wait()
        self._last = self._pool.submit(fn, *args)

    def wait(self) -> None:
        """Wait for the pending group; its error, if any, is raised here."""
        if self._last is None:
            return
        future, self._last = self._last, None
        states, written, deleted = future.result()
        for state in states:
            self._tally.pages[state] += 1
        self._tally.written += written
        self._tally.deleted += deleted

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        if self._owned is not None:
            self._owned.close()


class Indexer:
    """Brings a Store and the ledger's chunks up to the pages it is given."""

    def __init__(self, settings: Settings, ledger: Ledger, store: VectorStore, embedder: Embedder, *,
                 chunker: Chunking | None = None, cleaner: Cleaning | None = None,
                 users: Mapping[str, str] | None = None, reuse_from: VectorStore | str | None = "same",
                 sink: RowSink | None = None) -> None:
        self.settings = settings
        self.rows = LedgerChunks(ledger)
        self.store = store
        self.embedder = embedder
        self.chunker = chunker or default_chunker(settings, embedder)
        self.cleaner = cleaner or default_cleaner()
        self.users = users if users is not None else ledger.users()  # reindex sees what ingest saw
        self.reuse_from: VectorStore | None = store if isinstance(reuse_from, str) else reuse_from
        self.live = sink is None  # the live chunks table, not reindex's staging
        self.sink: RowSink = sink or self.rows
        self.chunker_id = str(self.chunker.fingerprint())
        self.flush_texts = max(16 * settings.embed.batch_size, 32)  # long sorted batches pad less
        self.comments = LedgerComments(ledger).by_page() if settings.content.comments else {}

    # -- the pass -------------------------------------------------------------------------------
    def run(self, pages: Iterable[Page], *, full: bool = False, spaces: Sequence[str] | None = None,
            progress: Progress | None = None, total: int | None = None,
            only: Collection[str] | None = None) -> IndexReport:
        """Index `pages` (current ones; all among `only`, when given), then remove the chunks of
        tombstoned pages."""
        started = time.perf_counter()
        tally = _Tally()
        known = {} if full and not self.live else self.rows.indexed_hashes(spaces, only)
        group: list[_Work] = []
        pending = done = 0
        writer = _Writer(tally, self._own_sink())
        try:
            for item in prefetch(pages, lambda p: self._prepare(p, known, full)):
                done += 1
                if isinstance(item, _Work):
                    group.append(item)
                    tally.warnings.extend((item.page.id, note) for note in item.notes)
                    pending += len(item.chunks)
                    if pending >= self.flush_texts or len(group) >= FLUSH_PAGES:
                        self._flush(group, tally, writer)
                        group, pending = [], 0
                elif item[0] == "unchanged":
                    tally.pages["unchanged"] += 1
                else:
                    tally.pages["failed"] += 1
                    tally.failures.append((item[1], item[2]))
                if progress:
                    progress(done, total, "pages")
            self._flush(group, tally, writer)
            writer.wait()
        finally:
            writer.close()
        if self.live:
            self.remove_gone(spaces, tally)
        return tally.report(time.perf_counter() - started)

    def _own_sink(self) -> Any:
        """The writer thread's ledger connection (live mode), so the main thread's reads never
        interleave with its transactions; closed when the run ends."""
        if not self.live:
            return None
        self.sink = LedgerChunks(Ledger(self.rows.ledger.path.parent))
        return self.sink.ledger

    def _prepare(self, page: Page, known: Mapping[str, str | None], full: bool) -> Any:
        """On the prefetch thread: decide, clean and chunk one page."""
        comments = self.comments.get(page.id, ())
        fingerprint = page_fingerprint(page, self.chunker_id, self.embedder.model_id, self.users, comments)
        old = known.get(page.id)
        if old == fingerprint and not full:
            return ("unchanged", page.id)
        try:
            blocks = self.cleaner(page.body_html, users=self.users)
            if comments:
                blocks = [*(blocks or ()), *comment_blocks(comments, self.users, self.cleaner)]
            bounded = getattr(self.chunker, "chunk_with_notes", None)
            chunks, notes = bounded(page, blocks) if bounded else (list(self.chunker.chunk(page, blocks)), [])
        except Exception as exc:  # CleanError or a bug in one page: report it, go on
            return ("failed", page.id, f"{type(exc).__name__}: {exc}")
        if old is None:
            state = "new"
        elif old.split(":")[-1] != fingerprint.split(":")[-1]:
            state = "moved"
        else:
            state = "changed"
        props = json.dumps(page_properties(page.body_html), ensure_ascii=False, sort_keys=True)
        return _Work(page, fingerprint, state, list(chunks), notes=list(notes), properties=props)

    # -- a group of pages -----------------------------------------------------------------------
    def _flush(self, group: list[_Work], tally: _Tally, writer: _Writer) -> None:
        """Embed the group here; hand its Chroma and ledger writes to the writer thread."""
        if not group:
            return
        page_ids = [w.page.id for w in group]
        old = self.rows.chunks_of(page_ids) if self.live else {}
        self._vectors(group, old, tally)
        ids, vectors, metas = [], [], []
        for work in group:
            for chunk, vec in zip(work.chunks, work.vectors, strict=False):
                ids.append(chunk.id)
                vectors.append(vec)
                metas.append(chunk_metadata(work.page, chunk, self.embedder.model_id))
        writer.submit(self._commit, group, page_ids, old, ids, vectors, metas)

    def _commit(self, group: list[_Work], page_ids: list[str], old: Mapping[str, Mapping[str, str]],
                ids: list[str], vectors: list[np.ndarray], metas: list[dict[str, Any]]) -> tuple[Any, ...]:
        """The replace, in order: upsert into Chroma, delete stale ids, then the ledger transaction."""
        held = self.store.ids_of_pages(page_ids)
        stale = set().union(*(held.get(pid, set()) | set(old.get(pid, {})) for pid in page_ids)) - set(ids)
        if ids:
            self.store.upsert(ids, np.stack(vectors), metas)
        if stale:
            self.store.delete(sorted(stale))
        self.sink.replace(group)
        return [w.state for w in group], len(ids), len(stale)

    def _vectors(self, group: list[_Work], old: Mapping[str, Mapping[str, str]], tally: _Tally) -> None:
        """Fill each work's vectors: reuse by text hash (checked against Chroma), embed the rest."""
        wanted: dict[str, list[str]] = {}  # text hash -> candidate chunk ids holding it
        for work in group:
            for cid, h in old.get(work.page.id, {}).items():
                wanted.setdefault(h, []).insert(0, cid)
        hashes = {c.text_hash for w in group for c in w.chunks}
        if self.reuse_from is not None:
            for h, cids in self.rows.ids_by_hash(sorted(hashes)).items():
                wanted.setdefault(h, []).extend(cids)
        found: dict[str, np.ndarray] = {}
        candidates = sorted({cid for h in hashes for cid in wanted.get(h, [])[:3]})
        if self.reuse_from is not None and candidates:
            for _cid, (vec, meta) in self.reuse_from.get(candidates).items():
                if vec is not None and meta.get("text_hash") and meta["text_hash"] not in found:
                    found[meta["text_hash"]] = vec
        reused = {h for h in hashes if h in found}
        texts = {c.text_hash: c.embed_text for w in group for c in w.chunks if c.text_hash not in found}
        if texts:
            fresh = self.embedder.embed_documents(list(texts.values()))
            found.update(zip(texts.keys(), fresh, strict=False))
            tally.embedded += len(texts)
        for work in group:
            work.vectors = [found[c.text_hash] for c in work.chunks]
            tally.reused += sum(1 for c in work.chunks if c.text_hash in reused)

    # -- tombstones -----------------------------------------------------------------------------
    def remove_gone(self, spaces: Sequence[str] | None, tally: _Tally) -> None:
        """Trashed or purged pages lose their chunks: Chroma first, then the ledger."""
        gone = self.rows.gone_pages(spaces)
        if not gone:
            return
        held = self.store.ids_of_pages(gone)
        self.store.delete_pages(gone)
        removed = self.rows.forget(gone)
        tally.pages["deleted"] += len(gone)
        tally.deleted += max(removed, sum(len(v) for v in held.values()))


def default_chunker(settings: Settings, embedder: Embedder) -> Chunking:
    from ingest.text.chunk import Chunker

    return Chunker(settings.chunk, window_tokens=embedder.max_tokens, count_window=embedder.count_tokens)


def default_cleaner() -> Cleaning:
    from ingest.text.clean import clean

    return clean
