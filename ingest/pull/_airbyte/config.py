"""The connectors' configs: our manifest's keys and the stock connector's three, from Settings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ingest.config import Settings
from ingest.errors import ConfigError

DC_MAX_LIMIT = 200  # the emulator's (and our reading of Data Center's) cap on a plain listing


def _credentials(settings: Settings) -> dict[str, str]:
    c = settings.confluence
    if c.deployment == "datacenter":
        return _dc_credentials(settings)
    token = c.api_token.get_secret_value()
    missing = [n for n, v in (("domain_name", c.domain_name), ("email", c.email), ("api_token", token))
               if not v]
    if missing:
        raise ConfigError(f"Confluence connection is not configured: missing {', '.join(missing)}",
                          "set [confluence] domain_name and email in config.toml and "
                          "KB_CONFLUENCE__API_TOKEN in the environment")
    return {"domain_name": c.domain_name, "email": c.email, "api_token": token}


def _dc_credentials(settings: Settings) -> dict[str, str]:
    """Data Center: a personal access token (bearer), else Server's basic auth (username, password)."""
    c = settings.confluence
    pat, password = c.pat.get_secret_value(), c.password.get_secret_value()
    if not c.domain_name:
        raise ConfigError("Confluence connection is not configured: missing domain_name",
                          "set [confluence] domain_name (host[:port]) and context_path in config.toml")
    if pat:
        return {"domain_name": c.domain_name, "auth": "bearer", "pat": pat, "email": "", "api_token": ""}
    if c.username and password:
        return {"domain_name": c.domain_name, "auth": "basic", "email": c.username, "api_token": password}
    raise ConfigError("Confluence Data Center credentials are missing",
                      "set KB_CONFLUENCE__PAT (a personal access token) in the environment, or [confluence] "
                      "username with KB_CONFLUENCE__PASSWORD for basic auth")


def stock_config(settings: Settings) -> dict[str, str]:
    """The stock connector's config: exactly its three keys. It speaks to Cloud only."""
    c = settings.confluence
    if c.deployment == "datacenter":
        raise ConfigError("the stock connector (source-confluence) cannot talk to Confluence Data Center: "
                          "it builds https://DOMAIN/wiki/rest/api/ URLs with basic auth only "
                          "(Airbyte issue #36371)",
                          "use the default source (--source manifest), which speaks Data Center")
    return _credentials(settings)


def manifest_config(settings: Settings, *, start_date: str, spaces: Iterable[str] = (),
                    ids: Iterable[str] = (), start_dates: Mapping[str, str] | None = None,
                    extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The config our manifest reads (see the header of confluence.yaml beside this module).
    `start_dates`: a content kind's own window start (page, blogpost), where it differs; `extra`:
    the count gate's keys (count_spaces, sweep_spaces, audit_since)."""
    p = settings.pull
    start_date = cql_local_time(start_date, p.cql_timezone)
    kinds = {kind: cql_local_time(when, p.cql_timezone) for kind, when in (start_dates or {}).items()}
    c = settings.confluence
    dc = c.deployment == "datacenter"
    sweep = min(p.sweep_page_size, DC_MAX_LIMIT) if dc else p.sweep_page_size
    return {"auth": "basic", **_credentials(settings), "scheme": c.scheme, "deployment": c.deployment,
            "context_path": c.context, "start_date": start_date, "start_dates": kinds,
            "lookback_minutes": p.lookback_minutes, "page_size": p.page_size,
            "sweep_page_size": sweep, "spaces": list(spaces), "ids": list(ids),
            "max_retries": p.max_retries, "max_retry_after": p.max_retry_after,
            "backoff_factor": p.backoff_factor, **(extra or {})}


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
    """The webui base (scheme, host, context path): links in records are relative to it."""
    return settings.confluence.site_url
