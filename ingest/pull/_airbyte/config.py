"""The connectors' configs: our manifest's keys and the stock connector's three, from Settings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ingest.config import Settings
from ingest.errors import ConfigError


def _credentials(settings: Settings) -> dict[str, str]:
    c = settings.confluence
    token = c.api_token.get_secret_value()
    missing = [n for n, v in (("domain_name", c.domain_name), ("email", c.email), ("api_token", token))
               if not v]
    if missing:
        raise ConfigError(f"Confluence connection is not configured: missing {', '.join(missing)}",
                          "set [confluence] domain_name and email in config.toml and "
                          "KB_CONFLUENCE__API_TOKEN in the environment")
    return {"domain_name": c.domain_name, "email": c.email, "api_token": token}


def stock_config(settings: Settings) -> dict[str, str]:
    """The stock connector's config: exactly its three keys."""
    return _credentials(settings)


def manifest_config(settings: Settings, *, start_date: str, spaces: Iterable[str] = (),
                    ids: Iterable[str] = (), start_dates: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The config our manifest reads (see the header of confluence.yaml beside this module).
    `start_dates`: a content kind's own window start (page, blogpost), where it differs."""
    p = settings.pull
    start_date = cql_local_time(start_date, p.cql_timezone)
    kinds = {kind: cql_local_time(when, p.cql_timezone) for kind, when in (start_dates or {}).items()}
    return {**_credentials(settings), "scheme": settings.confluence.scheme, "start_date": start_date,
            "start_dates": kinds,
            "lookback_minutes": p.lookback_minutes, "page_size": p.page_size,
            "sweep_page_size": p.sweep_page_size, "spaces": list(spaces), "ids": list(ids),
            "max_retries": p.max_retries, "max_retry_after": p.max_retry_after,
            "backoff_factor": p.backoff_factor}


def cql_local_time(when: str, timezone: str) -> str:
    """An ISO instant as the wall-clock time CQL compares in (`timezone`), still ISO, no offset."""
    import datetime as dt
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"[pull] cql_timezone is not a time zone: {timezone!r}",
                          "use an IANA name such as UTC or Europe/Berlin") from exc
    moment = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone).replace(tzinfo=None).isoformat(timespec="milliseconds")


def site_url(settings: Settings) -> str:
    """The webui base: links in records are relative to it."""
    return f"{settings.confluence.base_url}/wiki"
