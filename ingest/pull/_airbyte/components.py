"""Components referenced by class name from confluence.yaml (plain Python, duck-typed like the CDK's
interfaces, so importing them does not import airbyte).

The CDK's stock parts parse each response three times (the extractor's and the paginator's
decoders, and `response.json()` for the error filter's predicate) and DpathExtractor walks every
node of the body to find `results` (profiled: over half of a full pull's worker time). These parse
once, with orjson, and keep the result on the response.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ingest.pull._airbyte.records import get_path, user_key

_MISSING = object()


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


def share_json(response: Any) -> None:
    """Make `response.json()` (what the CDK's error filters call) return the shared parse."""
    if "json" in response.headers.get("Content-Type", ""):
        response.json = lambda **_: response_body(response)


def _results(response: Any) -> list[Any]:
    try:
        body = response_body(response)
    except ValueError:
        return []  # the error filter has already retried or failed a body that is not JSON
    if isinstance(body, list):  # Data Center's space permissions: a bare array
        return body
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
    each item cut to id, type, status, title, version number, space key, own read restriction
    and ancestors (when present). A site's worth of ids is then tens of records through PyAirbyte,
    not thousands."""

    config: Mapping[str, Any]

    def extract_records(self, response: Any) -> list[Any]:
        items = []
        for item in _results(response):
            if not isinstance(item, Mapping) or "id" not in item:
                continue
            light = {k: item[k] for k in SWEEP_FIELDS if k in item}
            light["version"] = {"number": get_path(item, "version", "number", default=0)}
            if get_path(item, "space", "key"):
                light["space"] = {"key": item["space"]["key"]}
            read = get_path(item, "restrictions", "read", "restrictions")
            if isinstance(read, Mapping):  # own read restriction: ids and names only
                light["read"] = {
                    "users": [user_key(u) for u in get_path(read, "user", "results", default=[])
                              if isinstance(u, Mapping)],
                    "groups": [g.get("name") for g in get_path(read, "group", "results", default=[])
                               if isinstance(g, Mapping)]}
            if isinstance(item.get("ancestors"), list):
                light["ancestors"] = [{"id": a.get("id"), "title": a.get("title")}
                                      for a in item["ancestors"] if isinstance(a, Mapping)]
            items.append(light)
        return [{"results": items}] if items else []


@dataclass
class TotalExtractor:
    """CDK record extractor for /search: one record, `{"total": totalSize}` (the hits are not kept)."""

    config: Mapping[str, Any]

    def extract_records(self, response: Any) -> list[Any]:
        try:
            body = response_body(response)
        except ValueError:
            return []
        total = body.get("totalSize") if isinstance(body, Mapping) else None
        return [{"total": int(total)}] if isinstance(total, int) and not isinstance(total, bool) else []


@dataclass
class NextLink:
    """CDK pagination strategy: follow the listing's `_links.next` (Cloud's search cursor, Data
    Center's start/limit), relative to the site's context path (or absolute, as some DC builds send)."""

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
        nxt = get_path(body, "_links", "next")
        if not nxt:
            return None
        if str(nxt).startswith(("https://", "http://")):
            return str(nxt)
        context = self.config.get("context_path", "/wiki")
        return f"{self.config.get('scheme', 'https')}://{self.config['domain_name']}{context}{nxt}"

    def get_page_size(self) -> int | None:
        return None


@dataclass
class ClampedBackoff:
    """CDK backoff strategy: Retry-After when the server sends one, clamped to `max_retry_after`;
    otherwise exponential, `factor * 2**attempt`."""

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
