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


# --- RETR: a tiny, hand-written knowledge base (ledger chunks + FTS + Chroma), FakeEmbedder ------------


@pytest.fixture
def tiny_kb(tmp_path: Path) -> object:
    """Settings of a tiny knowledge base (5 pages, 3 spaces) built with FakeEmbedder: no model, no
    emulator."""
    from tests.helpers import build_tiny_kb

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


DEPLOYMENTS = {"cloud": {}, "datacenter": {"datacenter": True, "context_path": "/confluence"}}


@pytest.fixture(params=sorted(DEPLOYMENTS))
def deployment(request: pytest.FixtureRequest) -> dict[str, object]:
    """The emulator's keywords for each mode, Cloud and Data Center (context path /confluence): a
    test that takes it runs against both, through `emulator_factory(..., **deployment)`."""
    return dict(DEPLOYMENTS[request.param])


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
