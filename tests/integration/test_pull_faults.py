"""Retries: 429 + Retry-After (waited out, clamped), 503, truncated bodies and resets are retried;
a persistent failure is one clear error naming the endpoint and status, and the ledger stays as it was."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from ingest.config import Settings, load_settings
from ingest.errors import SourceError
from ingest.pull.run import pull
from ingest.storage.ledger import Ledger

SEARCH = "/wiki/rest/api/content/search"


def settings_for(emu: Any, tmp_path: Path, **pull_settings: Any) -> Settings:
    pull_cfg = {"page_size": 10, "sweep_page_size": 25, "backoff_factor": 0.01, "max_retries": 3,
                **pull_settings}
    return load_settings(confluence=emu.confluence_settings(), data={"dir": str(tmp_path / "kb")},
                         pull=pull_cfg)


def statuses(emu: Any) -> list[int]:
    return [q["status"] for q in emu.admin.requests() if q["path"] == SEARCH]


def seconds_between_429_and_retry(emu: Any) -> float:
    log = [q for q in emu.admin.requests() if q["path"] == SEARCH]
    i = next(i for i, q in enumerate(log) if q["status"] == 429)
    later = [q for q in log[i + 1:] if q["query"] == log[i]["query"]]
    t = [dt.datetime.fromisoformat(q["time"].replace("Z", "+00:00")) for q in (log[i], later[0])]
    return (t[1] - t[0]).total_seconds()


@pytest.fixture
def small_site(emulator_factory: Any) -> Any:
    return emulator_factory(pages=30, blogposts=2, seed=5)


def test_429_retry_after_is_waited_out(small_site: Any, tmp_path: Path) -> None:
    small_site.admin.faults(SEARCH, "429", times=1, retry_after=1)
    report = pull(settings_for(small_site, tmp_path))
    assert report.new == 32
    assert 429 in statuses(small_site)
    assert seconds_between_429_and_retry(small_site) >= 0.9


def test_429_retry_after_is_clamped_to_the_maximum(small_site: Any, tmp_path: Path) -> None:
    small_site.admin.faults(SEARCH, "429", times=1, retry_after=120)
    started = time.monotonic()
    report = pull(settings_for(small_site, tmp_path, max_retry_after=0.3))
    assert report.new == 32 and time.monotonic() - started < 60
    assert 0.2 <= seconds_between_429_and_retry(small_site) < 5


@pytest.mark.parametrize("kind", ["503", "500", "truncate", "reset"])
def test_transient_failures_are_retried(small_site: Any, tmp_path: Path, kind: str) -> None:
    small_site.admin.faults(SEARCH, kind, times=2)
    report = pull(settings_for(small_site, tmp_path))
    assert (report.seen, report.new) == (32, 32)
    log = [q for q in small_site.admin.requests() if q["path"] == SEARCH]
    assert len(log) > len({str(sorted(q["query"].items())) for q in log})  # some request was repeated
    assert report.requests == len(small_site.admin.requests())


def test_a_timeout_is_retried(small_site: Any, tmp_path: Path) -> None:
    small_site.admin.faults(SEARCH, "slow", times=1, delay=1.5)
    started = time.monotonic()
    report = pull(settings_for(small_site, tmp_path, timeout_seconds=0.3))
    assert report.new == 32 and time.monotonic() - started < 60
    time.sleep(1.6)  # let the slow answer finish (or fail) on the emulator's side
    log = [q for q in small_site.admin.requests() if q["path"] == SEARCH]
    repeated = len(log) > len({str(sorted(q["query"].items())) for q in log})
    # The timed-out attempt was counted by us and retried: either the emulator logged it too (a
    # repeated query) or it could not deliver it to a client that had hung up (one entry short).
    assert repeated or report.requests == len(small_site.admin.requests()) + 1


def test_a_persistent_failure_is_clear_and_leaves_the_ledger_alone(small_site: Any, tmp_path: Path) -> None:
    settings = settings_for(small_site, tmp_path, max_retries=1)
    pull(settings)
    with Ledger(settings.data_dir) as led:
        before = [tuple(r) for r in led.conn.execute("SELECT * FROM pages ORDER BY id")]
        cursor = led.get_cursor("content")
    small_site.admin.clock(advance_minutes=10)
    small_site.admin.edit(before[0][0], body="<p>changed</p>")
    small_site.admin.faults(SEARCH, "503")
    with pytest.raises(SourceError) as info:
        pull(settings)
    assert f"GET {SEARCH} -> 503" in info.value.message
    assert "kb pull" in info.value.guidance
    with Ledger(settings.data_dir) as led:
        assert [tuple(r) for r in led.conn.execute("SELECT * FROM pages ORDER BY id")] == before
        assert led.get_cursor("content") == cursor
        assert led.last_run("pull")["status"] == "failed"


def test_bad_credentials_fail_clearly(small_site: Any, tmp_path: Path) -> None:
    settings = settings_for(small_site, tmp_path)
    bad = settings.model_copy(update={"confluence": settings.confluence.model_copy(
        update={"api_token": SecretStr("wrong")})})
    started = time.monotonic()
    with pytest.raises(SourceError) as info:
        pull(bad)
    assert "401" in info.value.message and "API_TOKEN" in info.value.guidance
    assert time.monotonic() - started < 30  # no retry loop on a 401
