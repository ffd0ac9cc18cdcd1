"""Durations in settings ("60s", "5m", "24h"): the shared parser, and [sync] through file and env."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.config import load_settings, parse_duration
from ingest.durations import format_duration
from ingest.errors import ConfigError


@pytest.mark.parametrize(("text", "seconds"), [
    ("60s", 60.0), ("5m", 300.0), ("24h", 86400.0), ("1h30m", 5400.0), ("1.5d", 129600.0),
    ("250ms", 0.25), ("90", 90.0), (" 2 m ", 120.0), (45, 45.0), (2.5, 2.5), ("0s", 0.0)])
def test_parse_duration_reads_units_and_plain_seconds(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "soon", "5 minutes", "10x", "m5", "-3s", True, None])
def test_parse_duration_refuses_what_it_cannot_read(bad: object) -> None:
    with pytest.raises(ValueError, match=r"duration|negative"):
        parse_duration(bad)


def test_format_duration_is_short() -> None:
    assert [format_duration(s) for s in (0, 0.4, 45, 300, 5400, 90061)] == ["0s", "0.4s", "45s", "5m",
                                                                          "1h30m", "1d1h"]


def test_sync_settings_from_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().sync.every == 60.0
    path = tmp_path / "config.toml"
    path.write_text('[sync]\nevery = "5m"\nmax_backoff = "1h"\n', encoding="utf-8")
    settings = load_settings(path)
    assert (settings.sync.every, settings.sync.max_backoff) == (300.0, 3600.0)
    monkeypatch.setenv("KB_SYNC__EVERY", "2s")
    assert load_settings(path).sync.every == 2.0


def test_a_bad_duration_or_key_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_SYNC__EVERY", "often")
    with pytest.raises(ConfigError, match=r"sync\.every.*'often' is not a duration"):
        load_settings()
    monkeypatch.setenv("KB_SYNC__EVERY", "0s")
    with pytest.raises(ConfigError, match=r"sync\.every"):
        load_settings()
    monkeypatch.delenv("KB_SYNC__EVERY")
    monkeypatch.setenv("KB_SYNC__EVRY", "1m")
    with pytest.raises(ConfigError, match="did you mean 'every'"):
        load_settings()
