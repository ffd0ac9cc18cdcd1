"""Shared fixtures. No network beyond loopback: enforced here for every test."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check(sock: socket.socket, address: object) -> None:
    if sock.family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) else address
    try:
        if ipaddress.ip_address(str(host)).is_loopback:
            return
    except ValueError:
        if host == "localhost":
            return
    raise OSError(f"test tried to reach {address!r}: no network beyond 127.0.0.1 in tests")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check(self, address)
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with a clear reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared is absent ({path} not found): this test reads the shared samples")
    return path


# --- RETR: a tiny, hand-written knowledge base (ledger chunks + FTS + Chroma), FakeEmbedder ------------
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
    from ingest.config import load_settings
    from ingest.index import Indexer, open_store
    from ingest.index.embed import FakeEmbedder
    from ingest.records import Page, make_chunk
    from ingest.storage import Ledger

    embedder = embedder or FakeEmbedder()
    settings = load_settings(data={"dir": str(data_dir)})
    pages, chunks = [], {}
    for pid, kind, space, title, updated, labels, sections in TINY_PAGES:
        url = f"https://example.atlassian.net/wiki/spaces/{space}/pages/{pid}"
        pages.append(Page(id=pid, kind=kind, space_key=space, title=title, url=url, version=1, updated_at=updated,
                          space_name=space.title(), labels=labels))
        chunks[pid] = [make_chunk(pid, idx, " › ".join((space.title(), title, *path)), path, text,
                                  len(text.split())) for idx, (path, text) in enumerate(sections)]
    with Ledger(settings.data_dir) as ledger:
        with ledger.tx():
            for page in pages:
                ledger.upsert_page(page, None)
        store = open_store(settings, embedder)
        Indexer(settings, ledger, store, embedder, chunker=_FixedChunker(chunks),
                cleaner=lambda body, users=None: None).run(pages)
    return settings


@pytest.fixture
def tiny_kb(tmp_path: Path) -> object:
    """Settings of a tiny knowledge base (5 pages, 3 spaces) built with FakeEmbedder: no model, no emulator."""
    return build_tiny_kb(tmp_path / "kb")


# ---- emulator fixtures (EMU) ----------------------------------------------------------------------
@pytest.fixture
def emulator() -> object:
    """A running emulator with the bundled sample space (HTTPS, free port), stopped after the test.

    The handle has .url, .domain, .email, .token, .ca_path, .admin (EmulatorAdmin), .store and
    .confluence_settings() for `load_settings(confluence=..., data={"dir": tmp})`.
    """
    from emulator.testing import running_emulator

    with running_emulator() as handle:
        yield handle


@pytest.fixture
def emulator_factory() -> object:
    """Start emulators with `running_emulator`'s keywords (corpus, pages, blogposts, seed, http, ...);
    all of them are stopped after the test."""
    from emulator.testing import start_emulator

    handles = []

    def start(*args: object, **kwargs: object) -> object:
        handle = start_emulator(*args, **kwargs)  # type: ignore[arg-type]
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.stop()


# Property tests explore freely on a developer's machine; in CI (CI=true) they are derandomized, so a
# landing never depends on the luck of a draw. A failure found locally is fixed, not retried.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    _hypothesis_settings.load_profile("ci")
