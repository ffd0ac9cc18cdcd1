"""The speed-ups of PyAirbyte/CDK internals check their versions first: on a mismatch, one warning
naming the version, nothing replaced, and a pull that still works (only slower)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.config import load_settings
from ingest.pull import pull
from ingest.pull._airbyte import patches, source


@pytest.fixture()
def unpatched(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No speed-up applied and no Source kept from earlier tests; all put back afterwards."""
    patches.revert()
    monkeypatch.setattr(source, "_SOURCES", {})
    yield
    patches.revert()


def _skips(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, patches.SpeedUpSkipped)]


def test_a_cdk_version_mismatch_skips_the_speed_ups_with_one_warning_and_pulls(
        emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unpatched: None) -> None:
    real = patches.installed_version
    monkeypatch.setattr(patches, "installed_version",
                        lambda package: "7.38.0" if package == "airbyte-cdk" else real(package))
    settings = load_settings(confluence=emulator.confluence_settings(), data={"dir": str(tmp_path / "kb")})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = pull(settings)
        again = pull(settings)  # a second pull warns no more
    skipped = _skips(caught)
    assert len(skipped) == 1, skipped
    assert "airbyte-cdk 7.38.0 is installed" in skipped[0] and patches.TESTED["airbyte-cdk"] in skipped[0]
    assert first.new == first.seen > 0 and again.new == 0
    owner, name, _ = patches.targets()["component schema parsed once"]
    assert not hasattr(getattr(owner, name), "cache_info")  # nothing was replaced


def test_a_missing_attribute_skips_the_speed_ups_with_one_warning(
        monkeypatch: pytest.MonkeyPatch, unpatched: None) -> None:
    owner, name, _ = patches.targets()["manifest validated once"]
    monkeypatch.delattr(owner, name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert patches.apply() == []
        assert patches.apply() == []
    skipped = _skips(caught)
    assert len(skipped) == 1 and "lacks what" in skipped[0], skipped


def test_on_the_tested_versions_every_speed_up_applies(unpatched: None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", patches.SpeedUpSkipped)
        applied = patches.apply()
    assert applied == ["component schema parsed once", "literal_eval serialised", "manifest resolved once",
                       "manifest validated once"]


def test_records_handed_over_as_objects_equal_pyairbyte_s_own_reading(
        emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`direct.py` skips the JSON round trip between the CDK and PyAirbyte: the records it hands
    over are the ones PyAirbyte's own `_execute` parses back from the JSON lines, field for field."""
    from ingest.pull._airbyte import manifest_config
    from ingest.pull._airbyte.memory import read_memory
    from ingest.pull._airbyte.meter import RequestMeter

    settings = load_settings(confluence=emulator.confluence_settings(), data={"dir": str(tmp_path / "kb")})
    src = source.open_source(settings, manifest_config(settings, start_date="2000-01-01T00:00:00Z"))
    streams = ["pages", "blog_posts", "spaces", "comments"]

    def read() -> dict[str, list[dict[str, Any]]]:
        held = read_memory(settings, src, streams, RequestMeter(), bounded=(), limit=0)
        assert held is not None
        return {s: sorted(({k: v for k, v in r.items() if not k.startswith("_airbyte")} for r in rows),
                          key=lambda r: str(r.get("id"))) for s, rows in held.records.items()}

    assert "_execute" in vars(src)  # the direct hand-over is installed on this Source
    direct = read()
    monkeypatch.delattr(src, "_execute")  # PyAirbyte's own, for one read
    own = read()
    assert direct == own and len(direct["pages"]) > 10 and direct["spaces"]
