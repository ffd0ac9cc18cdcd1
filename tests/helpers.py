"""Helpers shared by the tests (one module; tests never import each other). Plain functions and
classes; fixtures stay in conftest.py.

- paths: ROOT, FIXTURES (our storage-format fixtures), SHARED and `shared_path` (../shared, or skip);
- the tiny knowledge base (`TINY_PAGES`, `build_tiny_kb`, written through the real writers) and its
  questions (`TINY_QA`); a small emulator corpus for CQL (`cql_items`);
- the index's stand-ins (`para_cleaner`, `ParaChunker`, `page`) and `KB` (ledger + store + indexer);
- `rebuild_kb`, `kb_settings` and `snapshot` for reindex and pipeline tests;
- the HTTP layer's `FakeEngine`, keys (`KEY`, `AUTH`) and `api_settings`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.config import Settings, load_settings
from ingest.index.embed import FakeEmbedder
from ingest.index.gate import open_store
from ingest.index.indexer import Indexer, IndexReport
from ingest.index.rebuild import rebuild
from ingest.records import Ancestor, Block, Chunk, Page, make_chunk
from ingest.storage.ledger import Ledger

# -- paths ---------------------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "storage"


SHARED = ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with a clear reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared is absent ({path} not found): this test reads the shared samples")
    return path


TINY_PAGES = [
    # id, kind, space, title, updated_at, labels, [(heading path, text), ...]
    ("101", "page", "ENG", "Deploying the gateway", "2024-01-10T09:00:00.000Z", ("deploy", "gateway"), [
        (("Steps",), "Run make release to build the gateway image. The deploy job pushes it to the registry. "
                     "Rollbacks use the previous image tag."),
        (("Errors",), "Error ERR-4012 means the registry token expired. Renew the token with kb-token renew "
                      "and retry the deploy."),
        (("Checks",), "After a deploy, the health check polls /healthz every ten seconds for five minutes."),
    ]),
    ("102", "page", "ENG", "Gateway configuration", "2024-03-05T12:00:00.000Z", ("gateway", "config"), [
        (("Retries",), "The key max_retry_after caps how long the gateway waits after a 429 response. "
                       "The default is sixty seconds."),
        (("Timeouts",), "Set timeout_seconds to change the per-request timeout of the gateway."),
    ]),
    ("103", "page", "OPS", "On-call handbook", "2023-11-20T08:00:00.000Z", ("oncall",), [
        (("Paging",), "The on-call engineer is paged through the alerting tool when the error rate exceeds "
                      "five percent. Acknowledge a page within fifteen minutes."),
        (("Escalation",), "Escalate to the team lead when an incident lasts longer than one hour."),
    ]),
    ("104", "blogpost", "OPS", "Q1 incident review", "2024-04-02T10:00:00.000Z", ("incident",), [
        (("Summary",), "In March the gateway returned errors for two hours because the registry token "
                       "expired during a deploy."),
    ]),
    ("105", "page", "HR", "Holiday policy", "2022-06-01T00:00:00.000Z", ("policy",), [
        (("Allowance",), "Employees get twenty-five days of paid holiday per year, plus public holidays."),
        (("Requests",), "Request holiday in the HR portal at least two weeks ahead."),
    ]),
]


class _FixedChunker:
    """The tiny KB's chunks exactly as TINY_PAGES writes them (no cleaning, no splitting)."""

    def __init__(self, chunks: dict[str, list[object]]) -> None:
        self.chunks = chunks

    def fingerprint(self) -> str:
        return "tiny-kb-fixed"

    def chunk(self, page: object, blocks: object) -> list[object]:
        return self.chunks[page.id]  # type: ignore[attr-defined]


def build_tiny_kb(data_dir: Path, embedder: object = None) -> object:
    """Write TINY_PAGES into a ledger (pages + chunks + FTS) and a Chroma collection under data_dir,
    through the real writers (Ledger.upsert_page, the Indexer). Returns Settings pointing at it.
    Uses ingest.index.embed.FakeEmbedder unless an embedder is given."""
    embedder = embedder or FakeEmbedder()
    settings = load_settings(data={"dir": str(data_dir)})
    pages, chunks = [], {}
    for pid, kind, space, title, updated, labels, sections in TINY_PAGES:
        url = f"https://example.atlassian.net/wiki/spaces/{space}/pages/{pid}"
        pages.append(Page(id=pid, kind=kind, space_key=space, title=title, url=url, version=1,
                          updated_at=updated, space_name=space.title(), labels=labels))
        chunks[pid] = [make_chunk(pid, idx, " › ".join((space.title(), title, *path)), path, text,
                                  len(text.split())) for idx, (path, text) in enumerate(sections)]
    with Ledger(settings.data_dir) as ledger:
        with ledger.tx():
            for page in pages:
                ledger.upsert_page(page, None)
            open_spaces(ledger, {p.space_key for p in pages})
        pages = list(ledger.iter_pages())  # with their access class
        store = open_store(settings, embedder)
        Indexer(settings, ledger, store, embedder, chunker=_FixedChunker(chunks),
                cleaner=lambda body, users=None: None).run(pages)
    return settings


def open_spaces(ledger: Ledger, spaces: Iterable[str]) -> None:
    """Give `spaces` anonymous access (as a pull of a public site would) and recompute every page's
    access class: a tiny KB's server tests then see its pages without naming a user."""
    from ingest.access.rules import SpaceRule
    from ingest.storage.access import LedgerAccess

    access = LedgerAccess(ledger)
    access.replace_space_rules([SpaceRule(s, anonymous=True) for s in sorted(spaces)])
    access.recompute()


# -- small corpora -----------------------------------------------------------------------------------
TINY_QA = [
    {"question": "ERR-4012 registry token expired renew", "answers": ["kb-token renew"], "gold": ["101"]},
    {"question": "holiday allowance days per year", "answers": ["twenty-five days"], "gold": ["105"]},
    {"question": "max_retry_after 429 gateway waits", "gold": ["102"]},
    {"question": "who wrote the zebra manifesto", "answers": ["nobody"], "gold": ["999"]},
]


def cql_items() -> list[dict[str, Any]]:
    return [
        {"id": "11", "type": "page", "space": "ENG", "title": "A", "body": "", "labels": ["x"],
         "updated": "2024-05-01T10:04:59.999Z"},
        {"id": "12", "type": "page", "space": "ENG", "title": "B", "body": "", "parent_id": "11",
         "updated": "2024-05-01T10:05:00.000Z"},
        {"id": "13", "type": "page", "space": "OPS", "title": "C", "body": "",
         "updated": "2024-05-01T10:05:59.999Z"},
        {"id": "14", "type": "blogpost", "space": "OPS", "title": "D", "body": "",
         "updated": "2024-05-01T10:06:00.000Z"},
        {"id": "15", "type": "page", "space": "SEC", "title": "E", "body": "", "parent_id": "12",
         "updated": "2024-05-01T10:05:30.000Z"},
    ]


# -- the index's stand-ins and a small KB -----------------------------------------------------------
def para_cleaner(body: str, *, users: object = None) -> list[Block]:
    if "<broken" in body:
        raise ValueError("cannot clean this")
    return [Block("paragraph", t) for t in re.findall(r"<p>(.*?)</p>", body)]


class ParaChunker:
    def fingerprint(self) -> str:
        return "para-v1"

    def chunk(self, page: Page, blocks: Sequence[Block]) -> list[Chunk]:
        header = " › ".join([page.space_name, *page.ancestor_titles, page.title])
        return [make_chunk(page.id, i, header, (), b.text, embed_title=page.title)  # as the Chunker embeds
                for i, b in enumerate(blocks)]


def page(pid: str, paras: Sequence[str], *, version: int = 1, title: str | None = None,
         status: str = "current", ancestors: tuple[Ancestor, ...] = (),
         labels: tuple[str, ...] = ("howto",)) -> Page:
    return Page(id=pid, kind="page", space_key="ENG", space_name="Engineering", title=title or f"Page {pid}",
                url=f"https://x.example/wiki/{pid}", version=version, updated_at="2026-01-02T03:04:05Z",
                body_html="".join(f"<p>{t}</p>" for t in paras), status=status, ancestors=ancestors,
                labels=labels, read_groups=("staff",))


class KB:
    """The ledger, store and a fresh Indexer per run, as the pipeline wires them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ledger = Ledger(settings.data_dir)
        self.embedder = FakeEmbedder()
        self.store = open_store(settings, self.embedder)

    def put(self, *pages: Page) -> None:
        with self.ledger.tx():
            for p in pages:
                self.ledger.upsert_page(p, None)

    def run(self, **kw: object) -> IndexReport:
        indexer = Indexer(self.settings, self.ledger, self.store, self.embedder, chunker=ParaChunker(),
                          cleaner=para_cleaner, **kw)  # type: ignore[arg-type]
        with Ledger(self.settings.data_dir) as reader:
            return indexer.run(reader.iter_pages())

    def chunk_rows(self) -> dict[str, tuple[str, str]]:
        return {r[0]: (r[1], r[2])
                for r in self.ledger.conn.execute("SELECT id, text_hash, text FROM chunks")}

    def fts(self, word: str) -> list[str]:
        return [r[0] for r in self.ledger.conn.execute(
            "SELECT c.id FROM chunks_fts f JOIN chunks c ON c.rowid = f.rowid WHERE chunks_fts MATCH ?",
            (word,))]


STAND_INS = {"chunker": ParaChunker(), "cleaner": para_cleaner}


def rebuild_kb(kb: KB, embedder: object, **kw: object):  # type: ignore[no-untyped-def]
    with Ledger(kb.settings.data_dir) as reader:
        return rebuild(kb.settings, kb.ledger, reader, embedder, grace_seconds=0.0, **STAND_INS, **kw)


# -- the pipeline ------------------------------------------------------------------------------------
def generated_site(emulator_factory: Any, deployment: dict[str, Any], tmp_path: Path, *,
                   max_retries: int) -> tuple[Any, Settings]:
    """The pull tests' generated site (3 spaces, 60 pages, 6 blog posts) and settings with small
    page sizes, so every read pages."""
    emu = emulator_factory(pages=60, blogposts=6, seed=3, **deployment)
    settings = load_settings(confluence=emu.confluence_settings(), data={"dir": str(tmp_path / "kb")},
                             pull={"page_size": 10, "sweep_page_size": 25, "backoff_factor": 0.01,
                                   "max_retries": max_retries, "lookback_minutes": 2})
    return emu, settings


def kb_settings(emu: Any, data_dir: Path) -> Settings:
    return load_settings(confluence=emu.confluence_settings(), data={"dir": str(data_dir)})


def snapshot(settings: Settings, embedder: Any) -> dict[str, Any]:
    """Everything the index holds: ledger chunk rows, and Chroma ids with metadata and vectors."""
    with Ledger(settings.data_dir) as ledger:
        rows = {r[0]: tuple(r[1:]) for r in ledger.conn.execute(
            "SELECT id, page_id, idx, text_hash, header, heading_path, text, tokens FROM chunks")}
    store = open_store(settings, embedder)
    chroma = {cid: (meta, [round(float(x), 5) for x in vec])
              for cid, vec, meta in store.iter_all(vectors=True)}
    return {"rows": rows, "chroma": chroma}


# -- the HTTP layer: a fake engine and keys -------------------------------------------------------------
KEY, OTHER_KEY = "test-key-1f2e3d", "test-key-2a9b8c"


AUTH = {"Authorization": f"Bearer {KEY}"}


PAGES = [
    ("101", "VPN access", "Rotate the VPN certificate every 90 days with the vpn-rotate tool. "
                          "The certificate is valid for 90 days."),
    ("102", "Release process", "Releases are cut from main every Tuesday. Tag the commit and run the "
                               "release pipeline."),
    ("103", "On-call handbook", "The on-call engineer answers pages within 15 minutes. Escalate to the "
                                "incident commander."),
    ("104", "Coffee machine", "Descale the coffee machine monthly. Use the blue descaler."),
]


STOP = {"the", "a", "is", "it", "how", "what", "do", "i", "for", "to", "of", "long", "does", "with", "are"}


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9-]+", text.lower()) if w not in STOP}


class FakeEngine:
    """Word-overlap search; the answer is the top page's first sentence, cited [1]."""

    rewrite = None

    def __init__(self, fail: Exception | None = None, warnings: Sequence[str] = ()) -> None:
        self.fail = fail
        self.warnings = list(warnings)
        self.queries: list[str] = []
        self.principals: list[Any] = []

    def search(self, query: str, *, principal: Any = None, k: int | None = None,
               filters: dict[str, Any] | None = None, mode: str | None = None) -> list[dict[str, Any]]:
        if self.fail:
            raise self.fail
        self.queries.append(query)
        self.principals.append(principal)
        scored = [(len(_words(query) & _words(title + " " + text)), pid, title, text)
                  for pid, title, text in PAGES if not filters or pid in filters.get("page_ids", [pid])]
        scored = sorted((s for s in scored if s[0] > 0), reverse=True)[: k or 3]
        return [{"chunk_id": f"{pid}:0", "page_id": pid, "title": title, "url": f"https://wiki.test/{pid}",
                 "heading_path": "", "text": text, "header": title, "score": float(score),
                 "ranks": {"lexical": i + 1}} for i, (score, pid, title, text) in enumerate(scored)]

    def ask(self, question: str, *, principal: Any = None, k: int | None = None,
            filters: dict[str, Any] | None = None,
            history: Sequence[dict[str, str]] | None = None) -> dict[str, Any]:
        hits = self.search(question, k=k, filters=filters, principal=principal)
        if not hits:
            return {"text": "Not found in the knowledge base.", "citations": [], "hits": [],
                    "confidence": 0.0, "not_found": True, "warnings": []}
        top = hits[0]
        sentence = top["text"].split(". ")[0] + "."
        return {"text": f"{sentence} [1] Also see the page for details.",
                "citations": [{"number": 1, "title": top["title"], "url": top["url"],
                               "chunk_id": top["chunk_id"], "quote": sentence}],
                "hits": hits, "confidence": 0.8, "not_found": False, "warnings": self.warnings}

    def status(self) -> dict[str, Any]:
        return {"pages": {"current": len(PAGES)}, "chunks": len(PAGES), "spaces": ["ENG"], "ready": True,
                "model": "fake", "active_collection": "confluence_kb", "last_run": None}

    def close(self) -> None:
        pass


LLM_KEY, CONFLUENCE_TOKEN = "llm-key-9q8w7e6r", "atl-token-5t4y3u2i"


def api_settings(tmp_path: Path, **server: Any) -> Any:
    conf = {"api_keys": f"{KEY},{OTHER_KEY}", "rate_limit_per_minute": 1000, **server}
    return load_settings(data={"dir": str(tmp_path)}, server=conf, llm={"api_key": LLM_KEY},
                         confluence={"api_token": CONFLUENCE_TOKEN})


def error_body(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) >= {"error", "guidance"} and body["error"] and body["guidance"], body
    assert "Traceback" not in resp.text
    return body  # type: ignore[no-any-return]


def sse_events(text: str) -> list[tuple[str | None, str]]:
    """(event name, data) pairs of a text/event-stream body."""
    out = []
    for block in text.strip().split("\n\n"):
        name = data = None
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
        out.append((name, data or ""))
    return out


# -- processes and searches ----------------------------------------------------------------------------
@contextmanager
def kb_emulator(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`kb emulator ARGS` as a subprocess and its first line; killed after the block if still running
    (a test that stops it itself checks the exit code)."""
    command = [sys.executable, "-c", "from retrieval.cli import main; main()", "emulator", *args]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline().rstrip("\n")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def lexical_hits(settings: Settings, query: str, who: str | None = None, k: int = 5) -> list[Any]:
    """A lexical search of the knowledge base at `settings`, as `who` (None: the operator)."""
    from retrieval.query.searcher import Searcher

    searcher = Searcher(settings, embedder=FakeEmbedder())
    try:
        return searcher.search(query, k=k, mode="lexical", principal=who)
    finally:
        searcher.close()
