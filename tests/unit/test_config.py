"""Settings: precedence, env names, secrets from the environment only, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.config import load_settings
from ingest.errors import ConfigError
from tests.helpers import ROOT


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_precedence_init_over_env_over_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _write(tmp_path, '[confluence]\ndomain_name = "file.example"\nemail = "file@x"\n'
                           '[pull]\npage_size = 10\n')
    assert load_settings(cfg).confluence.domain_name == "file.example"
    monkeypatch.setenv("KB_CONFLUENCE__DOMAIN_NAME", "env.example")
    settings = load_settings(cfg)
    assert settings.confluence.domain_name == "env.example"
    assert settings.confluence.email == "file@x"  # untouched keys still come from the file
    assert settings.pull.page_size == 10
    assert load_settings(cfg, confluence={"domain_name": "init.example"}).confluence.domain_name \
        == "init.example"


def test_kb_config_env_chooses_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _write(tmp_path, '[data]\ndir = "somewhere"\n')
    monkeypatch.setenv("KB_CONFIG", str(cfg))
    assert load_settings().data.dir == Path("somewhere")


def test_lists_from_env_accept_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_CONFLUENCE__SPACES", "ENG, OPS")
    assert load_settings(None).confluence.spaces == ["ENG", "OPS"]


def test_secret_in_file_is_refused(tmp_path: Path) -> None:
    cfg = _write(tmp_path, '[confluence]\napi_token = "oops"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    assert "KB_CONFLUENCE__API_TOKEN" in err.value.guidance
    assert "oops" not in str(err.value)


def test_secret_from_env_is_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_CONFLUENCE__API_TOKEN", "s3cret-token")
    settings = load_settings(None)
    assert settings.confluence.api_token.get_secret_value() == "s3cret-token"
    assert "s3cret-token" not in repr(settings) and "s3cret-token" not in str(settings.model_dump())


def test_missing_file_and_bad_values_are_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(_write(tmp_path, "[pull\n"))
    monkeypatch.setenv("KB_PULL__PAGE_SIZE", "zero")
    with pytest.raises(ConfigError, match=r"pull\.page_size") as err:
        load_settings(None)
    assert "KB_PULL__PAGE_SIZE" in err.value.guidance


def test_shipped_config_toml_loads() -> None:
    settings = load_settings(ROOT / "config.toml")
    assert settings.data.dir == Path(".kb")
    assert settings.pull.max_delete_fraction == 0.2
