"""`kb check` / `ingest.check()` against both modes of the emulator: what it reports when the site
answers, and one line with the right kind for each way it can fail."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ingest import check
from ingest.config import load_settings
from tests.helpers import ROOT


def _settings(tmp_path: Path, confluence: dict[str, Any]) -> Any:
    return load_settings(confluence=confluence, data={"dir": str(tmp_path / "kb")},
                         pull={"timeout_seconds": 3})


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_check_reports_deployment_version_user_spaces_and_access(
        emulator_factory: Any, deployment: dict[str, Any], tmp_path: Path) -> None:
    emu = emulator_factory(pages=12, seed=1, **deployment)
    report = check(_settings(tmp_path, emu.confluence_settings()))
    assert report.ok, report
    dc = bool(deployment)
    assert report.deployment == ("datacenter" if dc else "cloud") and report.url == emu.site_url
    assert report.version == ("Data Center 9.2.1" if dc else "Cloud (kb-emulator)")
    assert report.user == f"KB Emulator ({emu.username if dc else emu.email})"
    assert report.spaces == len(emu.store.spaces) == 3
    assert (report.space_permissions, report.group_members) == (True, True)
    assert not (report.kind or report.error)


def test_wrong_context_path_names_the_one_that_answers(
        emulator_factory: Any, deployment: dict[str, Any], tmp_path: Path) -> None:
    emu = emulator_factory(pages=3, seed=1, **deployment)
    wrong = {**emu.confluence_settings(), "context_path": "/nowhere"}
    report = check(_settings(tmp_path, wrong))
    assert (report.ok, report.kind) == (False, "context_path")
    assert report.error.startswith("wrong context path: ") and "\n" not in report.error
    assert f'context_path = "{emu.server.context}"' in report.hint


def test_cloud_settings_against_a_data_center_site_say_switch_deployment(
        emulator_factory: Any, tmp_path: Path) -> None:
    emu = emulator_factory(pages=3, seed=1, datacenter=True, context_path="/confluence")
    cloud = {"domain_name": emu.domain, "email": emu.email, "api_token": "x" * 24, "ca_bundle": emu.ca_path}
    report = check(_settings(tmp_path, cloud))  # refused before routing, with a bearer challenge
    assert report.kind == "token_type" and 'deployment = "datacenter"' in report.hint
    right_auth = {"deployment": "cloud", "domain_name": emu.domain, "email": emu.username,
                  "api_token": emu.token, "ca_bundle": emu.ca_path}  # Server's basic auth, Cloud's path
    report = check(_settings(tmp_path, right_auth))
    assert report.kind == "context_path"
    assert 'context_path = "/confluence" and deployment = "datacenter"' in report.hint


@pytest.mark.parametrize(("mode", "token", "kind"), [
    ("datacenter", "ATATT3xFfGF0" + "a" * 40, "token_type"),  # a Cloud API token as the PAT
    ("cloud", "A" * 43 + "=", "token_type"),                  # a Data Center PAT as the API token
    ("datacenter", "B" * 43 + "=", "auth"),                   # a PAT, just not this one
    ("cloud", "c" * 24, "auth"),                              # a Cloud token, just not this one
])
def test_refused_tokens_tell_the_wrong_type_from_a_wrong_token(
        emulator_factory: Any, tmp_path: Path, mode: str, token: str, kind: str) -> None:
    dc = mode == "datacenter"
    emu = emulator_factory(pages=3, seed=1, datacenter=dc, context_path="/confluence")
    confluence = {**emu.confluence_settings(), ("pat" if dc else "api_token"): token}
    report = check(_settings(tmp_path, confluence))
    assert (report.ok, report.kind) == (False, kind), report
    assert "\n" not in report.error and token not in report.error + report.hint
    if kind == "token_type":
        assert report.error.startswith("wrong token type")


def test_tls_without_the_ca_and_http_against_https(emulator_factory: Any, deployment: dict[str, Any],
                                                   tmp_path: Path) -> None:
    emu = emulator_factory(pages=3, seed=1, **deployment)
    no_ca = {**emu.confluence_settings(), "ca_bundle": ""}
    report = check(_settings(tmp_path, no_ca))
    assert report.kind == "tls" and "ca_bundle" in report.hint
    plain = {**emu.confluence_settings(), "scheme": "http", "ca_bundle": ""}
    assert check(_settings(tmp_path, plain)).kind == "scheme"


def test_a_proxy_that_cannot_be_reached(emulator_factory: Any, deployment: dict[str, Any], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    emu = emulator_factory(pages=3, seed=1, **deployment)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{_closed_port()}")
    report = check(_settings(tmp_path, emu.confluence_settings()))
    assert report.kind == "proxy" and "NO_PROXY" in report.hint, report


def test_nothing_listening(tmp_path: Path) -> None:
    port = _closed_port()
    report = check(_settings(tmp_path, {"deployment": "datacenter", "domain_name": f"127.0.0.1:{port}",
                                        "pat": "P" * 44}))
    assert report.kind == "refused" and str(port) in report.hint


def test_kb_check_prints_the_figures_or_one_line(emulator_factory: Any, tmp_path: Path) -> None:
    emu = emulator_factory(pages=3, seed=1, datacenter=True, context_path="/confluence")
    env = {**os.environ, "KB_CONFLUENCE__DEPLOYMENT": "datacenter", "KB_CONFLUENCE__DOMAIN_NAME": emu.domain,
           "KB_CONFLUENCE__CONTEXT_PATH": "/confluence", "KB_CONFLUENCE__PAT": emu.token,
           "KB_CONFLUENCE__CA_BUNDLE": emu.ca_path, "KB_DATA__DIR": str(tmp_path / "kb")}
    env.pop("KB_CONFIG", None)

    def kb(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", "from retrieval.cli import main; main()", *args],
                              capture_output=True, text=True, cwd=tmp_path, env={**env, **extra}, timeout=60)

    out = kb("check", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["ok"] and report["deployment"] == "datacenter" and report["spaces"] == 3
    assert emu.token not in out.stdout + out.stderr  # the PAT is never printed
    plain = kb("check")
    assert "version: Data Center 9.2.1" in plain.stdout and "group members: yes" in plain.stdout
    bad = kb("check", KB_CONFLUENCE__CONTEXT_PATH="")
    assert bad.returncode == 3
    first, hint = bad.stderr.strip().splitlines()
    assert first.startswith("error: check failed (context_path): wrong context path")
    assert hint.strip().startswith('hint: the REST API answers under /confluence')
    assert ROOT.exists()
