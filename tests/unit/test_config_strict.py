"""Strict settings (issue 17): unknown keys and sections are errors with the nearest valid name; a data
dir that cannot be one, a domain_name that is a URL, a CA file that is not PEM, fail at load."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ingest.config import load_settings
from ingest.errors import ConfigError


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_unknown_key_names_the_nearest_valid_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown setting \[confluence\] domian_name") as err:
        load_settings(_toml(tmp_path, '[confluence]\ndomian_name = "x.atlassian.net"\n'))
    assert "did you mean 'domain_name'?" in err.value.guidance


def test_an_unknown_section_names_the_nearest_valid_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown config section \[nosuch\]"):
        load_settings(_toml(tmp_path, "[nosuch]\nx = 1\n"))
    with pytest.raises(ConfigError, match=r"\[retreival\]") as err:
        load_settings(_toml(tmp_path, "[retreival]\nk = 3\n"))
    assert "'retrieval'" in err.value.guidance


def test_an_unknown_environment_setting_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_PULL__TIMEOUT_SECOND", "3")
    with pytest.raises(ConfigError, match="the environment") as err:
        load_settings()
    assert "'timeout_seconds'" in err.value.guidance


def test_the_shipped_config_and_known_keys_still_load(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    load_settings(root / "config.toml")
    text = "[chunk]\nchunk_tokens = 256\n[server]\nallowed_hosts = ['a.b']\n"
    settings = load_settings(_toml(tmp_path, text))
    assert settings.chunk.chunk_tokens == 256 and settings.server.allowed_hosts == ["a.b"]


def test_a_data_dir_that_is_a_file_fails_at_load(tmp_path: Path) -> None:
    blocker = tmp_path / "kb"
    blocker.write_text("x")
    for path in (blocker, blocker / "deeper"):
        with pytest.raises(ConfigError, match="is a file"):
            load_settings(data={"dir": str(path)})


def test_domain_name_url_is_cut_to_the_host_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="kb.config"):
        settings = load_settings(confluence={"domain_name": "https://acme.atlassian.net/wiki"})
    assert settings.confluence.domain_name == "acme.atlassian.net"
    assert settings.confluence.base_url == "https://acme.atlassian.net"
    assert "is a URL" in caplog.text
    plain = load_settings(confluence={"domain_name": "127.0.0.1:8443"})
    assert plain.confluence.domain_name == "127.0.0.1:8443"


def test_domain_name_with_the_other_scheme_or_junk_is_refused() -> None:
    with pytest.raises(ConfigError, match="scheme") as err:
        load_settings(confluence={"domain_name": "http://wiki.local:8080/wiki"})
    assert "scheme = 'http'" in err.value.message
    for junk in ("two words", "x.net?y=1", "bad_host!"):
        with pytest.raises(ConfigError, match="host"):
            load_settings(confluence={"domain_name": junk})


def test_a_ca_file_must_be_readable_pem(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("this is not a certificate\n")
    with pytest.raises(ConfigError, match="not a PEM"):
        load_settings(confluence={"ca_bundle": str(bad)})
    with pytest.raises(ConfigError, match="not a readable file"):
        load_settings(confluence={"ca_bundle": str(tmp_path / "missing.pem")})
