"""Hostile review, the pull (issue 17): what no retry can fix ends in seconds, each with its own hint.

Before: a closed port took 142 s, a wrong CA 143 s, scheme http against HTTPS 132 s, a silent host
with timeout_seconds = 3 173 s, all with the same generic hint. Each case here runs against the
emulator or a socket on 127.0.0.1 and must end in under 10 s (airbyte is imported first, once).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.config import load_settings
from ingest.errors import SourceError
from ingest.pull.run import pull
from tests.helpers import ROOT

LIMIT_S = 10.0


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Import airbyte once, so each case times the pull, not the import."""
    from ingest.pull._airbyte.env import import_airbyte, prepare_environment

    prepare_environment(load_settings(data={"dir": str(tmp_path_factory.mktemp("warm"))}))
    import_airbyte()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    yield srv.getsockname()[1]
    srv.close()


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def _fails_fast(tmp_path: Path, **confluence: Any) -> SourceError:
    conf = {"email": "ops@example.com", "api_token": "tok-123456", **confluence}
    settings = load_settings(confluence=conf, data={"dir": str(tmp_path / "kb")}, pull={"timeout_seconds": 3})
    started = time.monotonic()
    with pytest.raises(SourceError) as err:
        pull(settings)
    took = time.monotonic() - started
    assert took < LIMIT_S, f"{took:.1f} s: {err.value}"
    return err.value


def test_connection_refused_ends_fast(warm: None, tmp_path: Path) -> None:
    err = _fails_fast(tmp_path, domain_name=f"127.0.0.1:{_closed_port()}")
    assert "connection refused" in err.message and "nothing listens" in err.guidance


def test_a_host_that_does_not_resolve_ends_fast(warm: None, tmp_path: Path) -> None:
    err = _fails_fast(tmp_path, domain_name="no-such-host.invalid")
    assert "host not found" in err.message and "does not resolve" in err.guidance


def test_a_silent_host_ends_after_bounded_timeouts(warm: None, tmp_path: Path, silent_port: int) -> None:
    err = _fails_fast(tmp_path, domain_name=f"127.0.0.1:{silent_port}")
    assert "no answer" in err.message and "timeout_seconds (3 s)" in err.guidance


def test_an_untrusted_certificate_ends_fast(warm: None, tmp_path: Path, emulator: Any) -> None:
    conf = {**emulator.confluence_settings(), "ca_bundle": ""}
    err = _fails_fast(tmp_path, **conf)
    assert "TLS failed" in err.message and "ca_bundle" in err.guidance


def test_scheme_http_against_https_ends_fast(warm: None, tmp_path: Path, emulator: Any) -> None:
    err = _fails_fast(tmp_path, **{**emulator.confluence_settings(), "scheme": "http"})
    assert "wrong scheme" in err.message and 'scheme = "https"' in err.guidance


def test_scheme_https_against_http_ends_fast(warm: None, tmp_path: Path, emulator_factory: Any) -> None:
    plain = emulator_factory(http=True)
    conf = {**plain.confluence_settings(), "scheme": "https"}
    err = _fails_fast(tmp_path, **conf)
    assert "TLS failed" in err.message and 'scheme = "http"' in err.guidance


def test_a_wrong_token_ends_fast_with_the_credentials_hint(warm: None, tmp_path: Path, emulator: Any) -> None:
    err = _fails_fast(tmp_path, **{**emulator.confluence_settings(), "api_token": "wrong-token"})
    assert "401" in err.message and "KB_CONFLUENCE__API_TOKEN" in err.guidance


@pytest.mark.slow
def test_debug_shows_the_error_and_traceback_of_a_failed_pull(tmp_path: Path, emulator: Any) -> None:
    conf = emulator.confluence_settings()
    env = {**os.environ, "KB_DATA__DIR": str(tmp_path / "kb"),
           "KB_CONFLUENCE__DOMAIN_NAME": conf["domain_name"],
           "KB_CONFLUENCE__EMAIL": conf["email"], "KB_CONFLUENCE__API_TOKEN": "wrong-token",
           "KB_CONFLUENCE__CA_BUNDLE": conf["ca_bundle"]}
    env.pop("KB_CONFIG", None)
    out = subprocess.run([sys.executable, "-c", "from retrieval.cli import main; main()", "--debug", "pull"],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert out.returncode == 3, out.stderr
    assert "Traceback" in out.stderr and "error: reading Confluence failed" in out.stderr, out.stderr[-2000:]
    assert "wrong-token" not in out.stderr + out.stdout
