"""The source's lifecycle: build it (our manifest or the stock one), read it into a cache, check it.

Two sources:
- `manifest` (default): confluence.yaml beside this module, our incremental manifest, run
  in-process by PyAirbyte. PyAirbyte 0.71 does not hand saved state to an in-process manifest, so
  the cursor is ours (the ledger's) and comes in through the config (`start_date`); see
  ingest/pull/run.py.
- `stock`: Airbyte's `source-confluence` 0.2.16 manifest, exactly as a user of it would run it
  (full refresh, `content?type=page` 25 at a time).
Every HTTP request is counted (`meter.RequestMeter`); the last failing one names the endpoint in
the error a failed read raises.
"""

from __future__ import annotations

import sys
import threading
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from ingest.config import Settings
from ingest.errors import SourceError
from ingest.pull._airbyte import patches
from ingest.pull._airbyte.config import manifest_config, stock_config
from ingest.pull._airbyte.direct import direct_messages
from ingest.pull._airbyte.env import import_airbyte, prepare_environment, trusted_ca
from ingest.pull._airbyte.hopeless import HOPELESS_TITLES, hint
from ingest.pull._airbyte.meter import RequestMeter, metering
from ingest.pull._airbyte.salvage import Salvage, salvaging

MANIFEST_PATH = Path(__file__).with_name("confluence.yaml")

_SOURCES: dict[tuple[Any, ...], Any] = {}
_SOURCES_LOCK = threading.Lock()


def open_source(settings: Settings, config: dict[str, Any], *, stock: bool = False) -> Any:
    """An airbyte Source for our manifest (or the stock one), in-process. One Source object per
    manifest is kept for the process and given each read's config: PyAirbyte then keeps its spec
    and discovered catalog (both fixed by the manifest) instead of building the source for them
    on every pull."""
    prepare_environment(settings)
    ab = import_airbyte()
    patches.apply()
    manifest_key = ("manifest", settings.pull.timeout_seconds, MANIFEST_PATH.stat().st_mtime_ns)
    key = ("stock",) if stock else manifest_key
    with _SOURCES_LOCK:
        source = _SOURCES.get(key)
        if source is None:
            source = _SOURCES[key] = _new_source(ab, settings, config, stock=stock)
            direct_messages(source)
        else:
            source.set_config(config)
    return source


def _new_source(ab: Any, settings: Settings, config: dict[str, Any], *, stock: bool) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    if stock:
        from ingest.assets import ensure_stock_manifest

        text = ensure_stock_manifest().read_text(encoding="utf-8")
        stock_manifest = yaml.load(text, Loader=loader)  # a safe loader (S506)
        # The stock blog_posts schema forgets `body` (pages declare it), and PyAirbyte drops
        # undeclared fields: declare it, so blog posts keep the body the connector does read.
        props = {name: schema.get("properties", {}) for name, schema in stock_manifest["schemas"].items()}
        if "body" in props.get("pages", {}) and "blog_posts" in props:
            props["blog_posts"].setdefault("body", props["pages"]["body"])
        return ab.get_source("source-confluence", config=config, source_manifest=stock_manifest,
                             install_if_missing=False)
    manifest = yaml.load(MANIFEST_PATH.read_text(encoding="utf-8"), Loader=loader)  # safe loader (S506)
    timeout = settings.pull.timeout_seconds  # numbers in the CDK schema, not interpolated: set here
    manifest["definitions"]["requester"].update(connect_timeout_in_seconds=min(timeout, 30.0),
                                                read_timeout_in_seconds=timeout, use_tcp_keepalive=True)
    return ab.get_source("confluence-kb", config=config, source_manifest=manifest, install_if_missing=False)


def read(settings: Settings, source: Any, cache: Any, streams: list[str], meter: RequestMeter, *,
         salvage: Salvage | None = None, write_strategy: str = "replace") -> None:
    """Read `streams` into the cache (each replaced: the cache holds the last read's raw records;
    bench/site_cache.py passes "merge" to measure a persistent merged cache).
    Any failure becomes a SourceError naming the endpoint and status. `salvage` keeps its streams'
    records as they are read, for a read that fails part-way (salvage.py)."""
    with trusted_ca(settings), metering(meter), salvaging(source, salvage), \
            redirect_stdout(sys.stderr):  # PyAirbyte prints progress
        try:
            source.read(cache=cache, streams=streams, write_strategy=write_strategy,
                        force_full_refresh=True)
        except Exception as exc:
            print(file=sys.stderr)  # PyAirbyte's progress view leaves the line open
            raise _source_error(exc, meter, settings) from exc


def check(settings: Settings, *, stock: bool = False) -> None:
    """Check the connection; raise SourceError with a clear message on bad credentials."""
    config = stock_config(settings) if stock else manifest_config(settings, start_date="2000-01-01T00:00:00Z")
    source = open_source(settings, config, stock=stock)
    meter = RequestMeter(give_up_after=settings.pull.give_up_after_seconds)
    with trusted_ca(settings), metering(meter), redirect_stdout(sys.stderr):
        try:
            source.check()
        except Exception as exc:
            raise _source_error(exc, meter, settings, "connection check failed") from exc


def _source_error(exc: Exception, meter: RequestMeter, settings: Settings,
                  what: str = "reading Confluence failed") -> SourceError:
    text = (str(getattr(exc, "message", "") or exc).splitlines() or [type(exc).__name__])[0][:300]
    where = meter.last_failure or "no HTTP response"
    if meter.last_failure and text.startswith("Connector failed"):
        text = (f"{type(exc).__name__}; the PyAirbyte log under {settings.data_dir / 'airbyte' / 'logs'} "
                "has details")
    if meter.hopeless:
        guidance = hint(meter.hopeless, settings.confluence.base_url, settings.pull.timeout_seconds,
                        settings.pull.give_up_after_seconds)
        title = HOPELESS_TITLES.get(meter.hopeless, meter.hopeless)
        return SourceError(f"{what}: {where} ({title})", guidance,
                           {"endpoint": where, "requests": meter.requests, "kind": meter.hopeless})
    if "401" in where or "403" in where:
        creds = ("KB_CONFLUENCE__PAT (or username and KB_CONFLUENCE__PASSWORD)"
                 if settings.confluence.deployment == "datacenter" else "email and KB_CONFLUENCE__API_TOKEN")
        guidance = (f"check [confluence] {creds} (and that the account can read the site); "
                    "`kb check` says more")
    else:
        guidance = (f"check that {settings.confluence.site_url} is reachable (and [confluence] ca_bundle "
                    "for a private CA), then run `kb pull` again: nothing was applied for pages it did not "
                    "finish")
    return SourceError(f"{what}: {where} ({text})", guidance,
                       {"endpoint": where, "requests": meter.requests})
