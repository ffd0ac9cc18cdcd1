"""The PyAirbyte edge: build the source, read it into the DuckDB cache, yield our records.

The only module that imports airbyte (lazily, inside functions, after `prepare_environment`).
Two sources:
- `manifest` (default): ingest/confluence.yaml, our incremental manifest, run in-process by
  PyAirbyte. PyAirbyte 0.71 does not hand saved state to an in-process manifest, so the cursor is
  ours (the ledger's) and comes in through the config (`start_date`); see ingest/sync.py.
- `stock`: Airbyte's `source-confluence` 0.2.16 manifest, exactly as a user of it would run it
  (full refresh, `content?type=page` 25 at a time).
Airbyte's dict keys stay in this module: callers get `Page`, `SweepEntry` and space names.
Every HTTP request is counted (requests, bytes) by `RequestMeter`; the last failing one names
the endpoint in the error a failed read raises.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ingest.config import Settings
from ingest.errors import ConfigError, SourceError
from ingest.records import Ancestor, Page

MANIFEST_PATH = Path(__file__).with_name("confluence.yaml")
CONTENT_STREAMS = {"pages": "page", "blog_posts": "blogpost"}
SWEEP_STREAMS = ("content_ids", "trashed_ids")
_ORIGINAL_CA_BUNDLE = os.environ.get("REQUESTS_CA_BUNDLE")


@dataclass(frozen=True)
class SweepEntry:
    """One row of the id sweep: what exists, without its body."""

    id: str
    kind: str
    status: str
    version: int
    title: str = ""
    space_key: str = ""
    ancestors: tuple[Ancestor, ...] | None = None  # None: the listing did not say


# --- environment and config ------------------------------------------------------------------
def airbyte_root(settings: Settings) -> Path:
    """Where PyAirbyte's logs, caches and temporary files live: under the data dir."""
    return settings.data_dir / "airbyte"


def prepare_environment(settings: Settings) -> Path:
    """Offline, no telemetry, logs and caches under the data dir, the configured CA trusted.
    Call before importing airbyte; returns the PyAirbyte root under the data dir."""
    root = airbyte_root(settings)
    (root / "logs").mkdir(parents=True, exist_ok=True)
    os.environ["AIRBYTE_OFFLINE_MODE"] = "1"
    os.environ["DO_NOT_TRACK"] = "1"
    os.environ.setdefault("AIRBYTE_LOGGING_ROOT", str(root / "logs"))
    os.environ.setdefault("AIRBYTE_CACHE_ROOT", str(root))
    ca = settings.confluence.ca_bundle
    if ca:
        if not Path(ca).is_file():
            raise ConfigError(f"[confluence] ca_bundle not found: {ca}", "point it at the server's CA (PEM)")
        os.environ["REQUESTS_CA_BUNDLE"] = str(Path(ca).resolve())  # what requests reads in-process
    elif _ORIGINAL_CA_BUNDLE is None:
        os.environ.pop("REQUESTS_CA_BUNDLE", None)  # no CA left over from an earlier pull
    else:
        os.environ["REQUESTS_CA_BUNDLE"] = _ORIGINAL_CA_BUNDLE
    return root


def _credentials(settings: Settings) -> dict[str, str]:
    c = settings.confluence
    token = c.api_token.get_secret_value()
    missing = [n for n, v in (("domain_name", c.domain_name), ("email", c.email), ("api_token", token)) if not v]
    if missing:
        raise ConfigError(f"Confluence connection is not configured: missing {', '.join(missing)}",
                          "set [confluence] domain_name and email in config.toml and "
                          "KB_CONFLUENCE__API_TOKEN in the environment")
    return {"domain_name": c.domain_name, "email": c.email, "api_token": token}


def stock_config(settings: Settings) -> dict[str, str]:
    """The stock connector's config: exactly its three keys."""
    return _credentials(settings)


def manifest_config(settings: Settings, *, start_date: str, spaces: Iterable[str] = (),
                    ids: Iterable[str] = ()) -> dict[str, Any]:
    """The config our manifest reads (see the header of ingest/confluence.yaml)."""
    p = settings.pull
    start_date = cql_local_time(start_date, p.cql_timezone)
    return {**_credentials(settings), "scheme": settings.confluence.scheme, "start_date": start_date,
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
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(zone).replace(tzinfo=None).isoformat(timespec="milliseconds")


# --- request metering ------------------------------------------------------------------------
@dataclass
class RequestMeter:
    """Counts every HTTP request made through `requests` while active: honest numbers."""

    requests: int = 0
    bytes: int = 0
    last_failure: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, method: str, url: str, status: int | None, size: int, error: str = "") -> None:
        with self._lock:
            self.requests += 1
            self.bytes += size
            if error or (status is not None and status >= 400):
                self.last_failure = f"{method} {urlsplit(url).path} -> {error or status}"


@contextmanager
def metering(meter: RequestMeter) -> Iterator[RequestMeter]:
    """Patch requests' adapter for the duration of a read (the CDK's session goes through it)."""
    import requests.adapters

    adapter = requests.adapters.HTTPAdapter
    original = adapter.send

    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            response = original(self, request, *args, **kwargs)
        except Exception as exc:
            meter.record(request.method, request.url, None, 0, type(exc).__name__)
            raise
        try:
            size = len(response.content)
        except Exception as exc:  # a body cut short: requests raises while reading it
            meter.record(request.method, request.url, response.status_code, 0, type(exc).__name__)
            raise
        meter.record(request.method, request.url, response.status_code, size)
        _share_json(response)
        return response

    adapter.send = send  # type: ignore[method-assign]
    try:
        yield meter
    finally:
        adapter.send = original  # type: ignore[method-assign]


# --- components referenced from confluence.yaml -------------------------------------------------
# The CDK's stock parts parse each response three times (the extractor's and the paginator's
# decoders, and `response.json()` for the error filter's predicate) and DpathExtractor walks every
# node of the body to find `results` (profiled: over half of a full pull's worker time). These parse
# once, with orjson, and keep the result on the response. Plain Python (duck-typed like the CDK's
# interfaces), so importing this module does not import airbyte.
def response_body(response: Any) -> Any:
    """The response's JSON, parsed once (orjson) and kept on the response; ValueError if not JSON."""
    body = response.__dict__.get("_kb_body", _MISSING)
    if body is _MISSING:
        import orjson

        try:
            body = orjson.loads(response.content)
        except (orjson.JSONDecodeError, TypeError) as exc:
            body = exc
        response.__dict__["_kb_body"] = body
    if isinstance(body, Exception):
        raise ValueError(f"the response is not JSON: {body}")
    return body


_MISSING = object()


def _share_json(response: Any) -> None:
    """Make `response.json()` (what the CDK's error filters call) return the shared parse."""
    if "json" in response.headers.get("Content-Type", ""):
        response.json = lambda **_: response_body(response)


def _results(response: Any) -> list[Any]:
    try:
        body = response_body(response)
    except ValueError:
        return []  # the error filter has already retried or failed a body that is not JSON
    results = body.get("results") if isinstance(body, Mapping) else None
    return results if isinstance(results, list) else []


@dataclass
class ResultsExtractor:
    """CDK record extractor: the items of a Confluence listing's `results`."""

    config: Mapping[str, Any]

    def extract_records(self, response: Any) -> list[Any]:
        return _results(response)


SWEEP_FIELDS = ("id", "type", "status", "title")


@dataclass
class SweepPageExtractor:
    """CDK record extractor for the id sweep: one record per listing page, `{"results": [...]}`,
    each item cut to id, type, status, title, version number, space key and ancestors (when
    present). A site's worth of ids is then tens of records through PyAirbyte, not thousands."""

    config: Mapping[str, Any]

    def extract_records(self, response: Any) -> list[Any]:
        items = []
        for item in _results(response):
            if not isinstance(item, Mapping) or "id" not in item:
                continue
            light = {k: item[k] for k in SWEEP_FIELDS if k in item}
            light["version"] = {"number": _get(item, "version", "number", default=0)}
            if _get(item, "space", "key"):
                light["space"] = {"key": item["space"]["key"]}
            if isinstance(item.get("ancestors"), list):
                light["ancestors"] = [{"id": a.get("id"), "title": a.get("title")}
                                      for a in item["ancestors"] if isinstance(a, Mapping)]
            items.append(light)
        return [{"results": items}] if items else []


@dataclass
class NextLink:
    """CDK pagination strategy: follow the listing's `_links.next` (Cloud's search cursor)."""

    config: Mapping[str, Any]

    @property
    def initial_token(self) -> Any:
        return None

    def next_page_token(self, response: Any, last_page_size: int, last_record: Any,
                        last_page_token_value: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            body = response_body(response)
        except ValueError:
            return None
        nxt = _get(body, "_links", "next")
        if not nxt:
            return None
        return f"{self.config.get('scheme', 'https')}://{self.config['domain_name']}/wiki{nxt}"

    def get_page_size(self) -> int | None:
        return None


@dataclass
class ClampedBackoff:
    """CDK backoff strategy (referenced by class name from confluence.yaml): Retry-After when the
    server sends one, clamped to `max_retry_after`; otherwise exponential, `factor * 2**attempt`.
    Plain Python (duck-typed), so importing this module does not import airbyte."""

    config: Mapping[str, Any]

    @property
    def cap(self) -> float:
        return float(self.config.get("max_retry_after", 60))

    @property
    def factor(self) -> float:
        return float(self.config.get("backoff_factor", 1))

    def backoff_time(self, response_or_exception: Any, attempt_count: int) -> float:
        headers = getattr(response_or_exception, "headers", None) or {}
        value = headers.get("Retry-After")
        if value is not None:
            try:
                return max(0.001, min(float(value), self.cap))
            except ValueError:
                pass
        return max(0.001, min(self.factor * 2 ** max(0, attempt_count - 1), self.cap))


def _airbyte() -> Any:
    """Import airbyte (after `prepare_environment`), quietly: google-cloud packages it pulls in
    warn about Python 3.11 on import."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import airbyte

    return airbyte


# --- sources ---------------------------------------------------------------------------------
_SOURCES: dict[tuple[Any, ...], Any] = {}
_SOURCES_LOCK = threading.Lock()


def open_source(settings: Settings, config: dict[str, Any], *, stock: bool = False) -> Any:
    """An airbyte Source for our manifest (or the stock one), in-process. One Source object per
    manifest is kept for the process and given each read's config: PyAirbyte then keeps its spec
    and discovered catalog (both fixed by the manifest) instead of building the source for them
    on every pull."""
    prepare_environment(settings)
    ab = _airbyte()
    _speed_ups()
    manifest_key = ("manifest", settings.pull.timeout_seconds, MANIFEST_PATH.stat().st_mtime_ns)
    key = ("stock",) if stock else manifest_key
    with _SOURCES_LOCK:
        source = _SOURCES.get(key)
        if source is None:
            source = _SOURCES[key] = _new_source(ab, settings, config, stock=stock)
        else:
            source.set_config(config)
    return source


def _new_source(ab: Any, settings: Settings, config: dict[str, Any], *, stock: bool) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    if stock:
        from ingest.assets import ensure_stock_manifest

        text = ensure_stock_manifest().read_text(encoding="utf-8")
        stock_manifest = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
        # The stock blog_posts schema forgets `body` (pages declare it), and PyAirbyte drops
        # undeclared fields: declare it, so blog posts keep the body the connector does read.
        props = {name: schema.get("properties", {}) for name, schema in stock_manifest["schemas"].items()}
        if "body" in props.get("pages", {}) and "blog_posts" in props:
            props["blog_posts"].setdefault("body", props["pages"]["body"])
        return ab.get_source("source-confluence", config=config, source_manifest=stock_manifest,
                             install_if_missing=False)
    manifest = yaml.load(MANIFEST_PATH.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - safe loader
    timeout = settings.pull.timeout_seconds  # numbers in the CDK schema, not interpolated: set here
    manifest["definitions"]["requester"].update(connect_timeout_in_seconds=min(timeout, 30.0),
                                                read_timeout_in_seconds=timeout, use_tcp_keepalive=True)
    return ab.get_source("confluence-kb", config=config, source_manifest=manifest, install_if_missing=False)


def _speed_ups() -> None:
    """Measured costs of PyAirbyte 0.71 / CDK 7.39 that do no work for us, removed in-process:
    - the CDK parses its 300 KB component schema (YAML) each time a declarative source is built,
      three times per read (~0.4 s each); it is constant and only read: parse it once;
    - it also resolves, type-propagates and schema-validates the manifest on every build (about a
      third of a no-change pull): the result depends on the manifest alone, so it is kept per
      manifest and each build gets its own copy;
    - PyAirbyte gzips its temporary JSONL batch files (level 9) before DuckDB loads and deletes
      them: 40% of a full pull's CPU (compress + crc32, profiled). They are written plain
      (`.jsonl`: DuckDB's read_json_auto picks the compression from the suffix)."""
    import functools

    from airbyte._writers import jsonl
    from airbyte_cdk.sources.declarative import concurrent_declarative_source as cds

    if not hasattr(cds.get_declarative_component_schema, "cache_info"):
        cds.get_declarative_component_schema = functools.cache(cds.get_declarative_component_schema)
    source_class = cds.ConcurrentDeclarativeSource
    if not getattr(source_class, "_kb_memo", False):
        source_class._pre_process_manifest = _memo_pre_process(source_class._pre_process_manifest)
        source_class._validate_source = _memo_validate(source_class._validate_source)
        source_class._kb_memo = True
    writer = jsonl.JsonlWriter
    if writer.__dict__.get("_open_new_file") is not _open_plain_jsonl:
        writer.default_cache_file_suffix = ".jsonl"
        writer._open_new_file = _open_plain_jsonl  # type: ignore[method-assign]


_MANIFEST_MEMO: dict[str, Any] = {}
_VALIDATED: set[str] = set()
_MEMO_LOCK = threading.Lock()


def _manifest_key(manifest: Mapping[str, Any]) -> str:
    import hashlib

    text = json.dumps(manifest, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _memo_pre_process(original: Any) -> Any:
    import copy

    def pre_process(self: Any, manifest: dict[str, Any]) -> dict[str, Any]:
        key = _manifest_key(manifest)
        with _MEMO_LOCK:
            done = _MANIFEST_MEMO.get(key)
        if done is None:
            done = original(self, copy.deepcopy(manifest))
            with _MEMO_LOCK:
                _MANIFEST_MEMO[key] = copy.deepcopy(done)
        else:
            done = copy.deepcopy(done)
        self._kb_manifest_key = key
        return done

    return pre_process


def _memo_validate(original: Any) -> Any:
    def validate(self: Any) -> None:
        key = getattr(self, "_kb_manifest_key", None)
        if key is not None and key in _VALIDATED:
            return
        original(self)
        if key is not None:
            with _MEMO_LOCK:
                _VALIDATED.add(key)

    return validate


def _open_plain_jsonl(self: Any, file_path: Path) -> Any:
    """PyAirbyte's JSONL batch file, uncompressed (a temporary file: loaded, then deleted)."""
    return open(file_path, mode="w", encoding="utf-8")  # noqa: SIM115 - PyAirbyte closes it


def open_cache(settings: Settings, name: str) -> Any:
    """A new, empty DuckDB cache under the data dir (one file per source kind); the previous read's
    file goes. Empty because PyAirbyte's "replace" leaves a stream's old rows when a read returns
    none of it, and the cache must hold exactly the last read; a new file because PyAirbyte keeps
    engines per path in-process."""
    root = prepare_environment(settings)
    _airbyte()
    cache_class = _bounded_duckdb_cache(settings.pull.cache_memory_mb)
    drop_caches(settings, f"{name}-")
    path = root / f"{name}-{time.time_ns():x}.duckdb"
    return cache_class(db_path=path, schema_name="main", cache_dir=root / "cache-tmp")


_BOUNDED: dict[int, Any] = {}


def _bounded_duckdb_cache(memory_mb: int) -> Any:
    """PyAirbyte's DuckDBCache with DuckDB's memory capped ([pull] cache_memory_mb; it spills to
    disk beyond). Uncapped (80% of RAM by default) it held ~650 MB loading 20,000 pages' JSON."""
    if memory_mb not in _BOUNDED:
        from airbyte.caches import DuckDBCache

        class BoundedDuckDBCache(DuckDBCache):
            def get_sql_alchemy_connect_args(self) -> dict[str, Any]:
                return {"config": {"memory_limit": f"{memory_mb}MB"}}

        _BOUNDED[memory_mb] = BoundedDuckDBCache
    return _BOUNDED[memory_mb]


@contextmanager
def opened_cache(settings: Settings, name: str) -> Iterator[Any]:
    """A new cache (see open_cache), closed when the block ends: DuckDB's buffers (hundreds of MB
    after a large read) are released instead of staying resident through the index stage."""
    cache = open_cache(settings, name)
    try:
        yield cache
    finally:
        try:
            cache.close()
        except Exception:  # closing must not hide the block's own error
            pass


def drop_caches(settings: Settings, prefix: str) -> None:
    """Delete the cache files whose names start with `prefix` (a read's previous file, a dry run's)."""
    for stale in airbyte_root(settings).glob(f"{prefix}*.duckdb*"):
        stale.unlink(missing_ok=True)


def read(settings: Settings, source: Any, cache: Any, streams: list[str], meter: RequestMeter) -> None:
    """Read `streams` into the cache (each replaced: the cache holds the last read's raw records).
    Any failure becomes a SourceError naming the endpoint and status."""
    with metering(meter), redirect_stdout(sys.stderr):  # PyAirbyte prints progress on stdout
        try:
            source.read(cache=cache, streams=streams, write_strategy="replace", force_full_refresh=True)
        except Exception as exc:
            print(file=sys.stderr)  # PyAirbyte's progress view leaves the line open
            raise _source_error(exc, meter, settings) from exc


def check(settings: Settings, *, stock: bool = False) -> None:
    """Check the connection; raise SourceError with a clear message on bad credentials."""
    config = stock_config(settings) if stock else manifest_config(settings, start_date="2000-01-01T00:00:00Z")
    source = open_source(settings, config, stock=stock)
    meter = RequestMeter()
    with metering(meter), redirect_stdout(sys.stderr):
        try:
            source.check()
        except Exception as exc:
            raise _source_error(exc, meter, settings, "connection check failed") from exc


def _source_error(exc: Exception, meter: RequestMeter, settings: Settings,
                  what: str = "reading Confluence failed") -> SourceError:
    text = (str(getattr(exc, "message", "") or exc).splitlines() or [type(exc).__name__])[0][:300]
    where = meter.last_failure or "no HTTP response"
    if meter.last_failure and text.startswith("Connector failed"):
        text = f"{type(exc).__name__}; the PyAirbyte log under {settings.data_dir / 'airbyte' / 'logs'} has details"
    if "401" in where or "403" in where:
        guidance = "check [confluence] email and KB_CONFLUENCE__API_TOKEN (and that the account can read the site)"
    else:
        guidance = (f"check that {settings.confluence.base_url} is reachable (and [confluence] ca_bundle for a "
                    "private CA), then run `kb pull` again: nothing was applied for pages it did not finish")
    return SourceError(f"{what}: {where} ({text})", guidance,
                       {"endpoint": where, "requests": meter.requests})


# --- records out of the cache -------------------------------------------------------------------
def cached_records(cache: Any, stream: str, batch: int = 500) -> Iterator[dict[str, Any]]:
    """Stream the cache's rows of `stream` as plain dicts with nested JSON decoded.
    Read with DuckDB's own cursor in batches and decoded with orjson: a third of the time of
    iterating PyAirbyte's dataset (SQLAlchemy rows, JSON decoded twice)."""
    if stream not in cache.streams:
        return
    import orjson

    processor = cache.processor
    table = f"{cache.schema_name}.{processor._quote_identifier(processor.get_sql_table_name(stream))}"
    raw = processor.get_sql_engine().raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - our cache's own table name
        names = [d[0] for d in cursor.description]
        while rows := cursor.fetchmany(batch):
            for row in rows:
                yield {k: _decode(v, orjson.loads) for k, v in zip(names, row, strict=True)}
    finally:
        raw.close()


def _decode(value: Any, loads: Any) -> Any:
    """A JSON column's text decoded with `loads`; any other value as it is."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return loads(value)
        except ValueError:
            return value
    return value


def _get(obj: Any, *path: str, default: Any = None) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return default
        obj = obj.get(key)
    return default if obj is None else obj


def _ancestors(record: Mapping[str, Any]) -> tuple[Ancestor, ...] | None:
    raw = record.get("ancestors")
    if raw is None:
        return None
    return tuple(Ancestor(str(a.get("id")), str(a.get("title") or "")) for a in raw if isinstance(a, Mapping))


def _space_key(record: Mapping[str, Any]) -> str:
    key = _get(record, "space", "key")
    if key:
        return str(key)
    container = str(_get(record, "_expandable", "space", default=""))  # stock records: "/rest/api/space/KEY"
    return container.rsplit("/", 1)[-1] if container else ""


def to_page(record: Mapping[str, Any], *, site: str, space_names: Mapping[str, str]) -> Page:
    """A Confluence content record (ours or the stock connector's) as a Page."""
    kind = "blogpost" if record.get("type") == "blogpost" else "page"
    space = _space_key(record)
    restrictions = _get(record, "restrictions", "read", "restrictions", default={})
    webui = str(_get(record, "_links", "webui", default=""))
    return Page(
        id=str(record["id"]), kind=kind, space_key=space, title=str(record.get("title") or ""),
        url=(site + webui) if webui.startswith("/") else webui,
        version=int(_get(record, "version", "number", default=0)),
        updated_at=str(_get(record, "version", "when", default="")),
        body_html=str(_get(record, "body", "storage", "value", default="")),
        space_name=space_names.get(space) or str(_get(record, "space", "name", default="")),
        created_at=str(_get(record, "history", "createdDate", default="")),
        author=str(_get(record, "history", "createdBy", "accountId", default="")
                   or _get(record, "version", "by", "accountId", default="")),
        status=str(record.get("status") or "current"),
        labels=tuple(str(x.get("name")) for x in _get(record, "metadata", "labels", "results", default=[])),
        ancestors=_ancestors(record) or (),
        read_users=tuple(str(u.get("accountId")) for u in _get(restrictions, "user", "results", default=[])),
        read_groups=tuple(str(g.get("name")) for g in _get(restrictions, "group", "results", default=[])),
    )


def sweep_records(cache: Any, stream: str) -> Iterator[dict[str, Any]]:
    """The items of a sweep stream (each cached row is one listing page of them)."""
    for row in cached_records(cache, stream):
        yield from row.get("results") or ()


def user_names(record: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(accountId, display name) of the people a content record names: its creator, its last
    editor and the users of its read restrictions. What `clean` shows for a mention."""
    people = [_get(record, "history", "createdBy"), _get(record, "version", "by")]
    people += _get(record, "restrictions", "read", "restrictions", "user", "results", default=[])
    for person in people:
        if isinstance(person, Mapping) and person.get("accountId"):
            name = person.get("displayName") or person.get("publicName")
            if name:
                yield str(person["accountId"]), str(name)


def to_sweep_entry(record: Mapping[str, Any]) -> SweepEntry:
    return SweepEntry(id=str(record["id"]), kind="blogpost" if record.get("type") == "blogpost" else "page",
                      status=str(record.get("status") or "current"),
                      version=int(_get(record, "version", "number", default=0)),
                      title=str(record.get("title") or ""), space_key=_space_key(record),
                      ancestors=_ancestors(record))


def space_names(cache: Any, stream: str = "spaces") -> dict[str, str]:
    return {str(r.get("key")): str(r.get("name") or "") for r in cached_records(cache, stream)}


def site_url(settings: Settings) -> str:
    """The webui base: links in records are relative to it."""
    return f"{settings.confluence.base_url}/wiki"
