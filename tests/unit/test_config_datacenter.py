"""The Data Center settings: deployment, context path, PAT (a secret), and the configs they make."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.config import Settings, load_settings
from ingest.errors import ConfigError
from ingest.pull._airbyte.config import manifest_config, stock_config
from ingest.pull.check import token_shape

START = "2024-01-01T00:00:00Z"


def dc(tmp_path: Path, **confluence: object) -> Settings:
    return load_settings(confluence={"deployment": "datacenter", "domain_name": "wiki.corp.example",
                                     **confluence}, data={"dir": str(tmp_path / "kb")})


def test_context_path_defaults_per_deployment_and_is_normalised(tmp_path: Path) -> None:
    cloud = load_settings(confluence={"domain_name": "acme.atlassian.net"}, data={"dir": str(tmp_path)})
    assert cloud.confluence.site_url == "https://acme.atlassian.net/wiki"
    assert dc(tmp_path).confluence.site_url == "https://wiki.corp.example"
    for raw, want in (("confluence/", "/confluence"), ("/a/b/", "/a/b"), ("/", ""), ("", "")):
        assert dc(tmp_path, context_path=raw).confluence.context == want
    with pytest.raises(ConfigError, match="context_path"):
        dc(tmp_path, context_path="/bad path")


def test_a_data_center_url_gives_its_path_as_the_context_path(tmp_path: Path) -> None:
    settings = dc(tmp_path, domain_name="https://wiki.corp.example:8443/confluence/")
    c = settings.confluence
    assert (c.domain_name, c.context, c.site_url) == ("wiki.corp.example:8443", "/confluence",
                                                     "https://wiki.corp.example:8443/confluence")


def test_the_pat_and_password_are_refused_in_the_config_file(tmp_path: Path) -> None:
    for key in ("pat", "password"):
        cfg = tmp_path / f"{key}.toml"
        cfg.write_text(f'[confluence]\ndeployment = "datacenter"\n{key} = "s3cret"\n', encoding="utf-8")
        with pytest.raises(ConfigError, match=f"secret \\[confluence\\] {key}") as info:
            load_settings(cfg)
        assert f"KB_CONFLUENCE__{key.upper()}" in info.value.guidance and "s3cret" not in str(info.value)


def test_manifest_config_variants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_CONFLUENCE__PAT", "P" * 44)
    bearer = manifest_config(dc(tmp_path, context_path="/confluence"), start_date=START)
    assert (bearer["auth"], bearer["pat"], bearer["context_path"], bearer["deployment"]) == \
        ("bearer", "P" * 44, "/confluence", "datacenter")
    assert bearer["sweep_page_size"] == 200  # Data Center's cap, not Cloud's 250
    monkeypatch.delenv("KB_CONFLUENCE__PAT")
    basic = manifest_config(dc(tmp_path, username="jdoe", password="pw"), start_date=START)
    assert (basic["auth"], basic["email"], basic["api_token"]) == ("basic", "jdoe", "pw")
    with pytest.raises(ConfigError, match="Data Center credentials are missing") as info:
        manifest_config(dc(tmp_path), start_date=START)
    assert "KB_CONFLUENCE__PAT" in info.value.guidance
    cloud = load_settings(confluence={"domain_name": "a.atlassian.net", "email": "e", "api_token": "t"},
                          data={"dir": str(tmp_path)})
    config = manifest_config(cloud, start_date=START)
    assert (config["auth"], config["context_path"], config["sweep_page_size"]) == ("basic", "/wiki", 250)
    assert stock_config(cloud) == {"domain_name": "a.atlassian.net", "email": "e", "api_token": "t"}


def test_the_stock_config_refuses_data_center(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot talk to Confluence Data Center") as info:
        stock_config(dc(tmp_path, pat="x"))
    assert "--source manifest" in info.value.guidance


def test_token_shapes() -> None:
    assert token_shape("ATATT3xFfGF0" + "x" * 180) == "cloud"
    assert token_shape("a" * 24) == "cloud"  # a classic Cloud API token
    assert token_shape("NjE2NzY2NzM0MzQ0Ok" + "A" * 26) == "pat"  # 44 base64 characters
    assert token_shape("hunter2") == ""
