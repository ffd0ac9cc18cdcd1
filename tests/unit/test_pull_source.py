"""The pieces of ingest/pull/_airbyte/ that need no server: CQL time zone, backoff, record mapping."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from ingest.errors import ConfigError
from ingest.pull._airbyte import ClampedBackoff, cql_local_time, to_page, to_sweep_entry
from tests.helpers import shared_path


def test_cql_dates_are_wall_clock_times_in_the_sites_zone() -> None:
    assert cql_local_time("2026-01-01T10:05:10.000Z", "UTC") == "2026-01-01T10:05:10.000"
    assert cql_local_time("2026-07-01T10:05:10.000Z", "Europe/Berlin") == "2026-07-01T12:05:10.000"
    assert cql_local_time("2026-01-01T10:05:10.000Z", "America/New_York") == "2026-01-01T05:05:10.000"
    with pytest.raises(ConfigError, match="cql_timezone"):
        cql_local_time("2026-01-01T10:05:10Z", "Mars/Olympus")


def test_backoff_honours_retry_after_clamped_else_exponential() -> None:
    backoff = ClampedBackoff({"max_retry_after": 30, "backoff_factor": 0.5})
    assert backoff.backoff_time(SimpleNamespace(headers={"Retry-After": "7"}), 1) == 7
    assert backoff.backoff_time(SimpleNamespace(headers={"Retry-After": "3600"}), 1) == 30
    assert [backoff.backoff_time(OSError("reset"), n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert backoff.backoff_time(SimpleNamespace(headers={}), 10) == 30


def test_a_real_cloud_record_maps_to_a_page() -> None:
    path = shared_path("data", "confluence", "rest_api", "v1", "airbyte_cloud_expected_records.jsonl")
    records = [json.loads(line) for line in path.read_text().splitlines()]
    data = next(r["data"] for r in records if r["stream"] == "pages")
    page = to_page(data, site="https://airbyteio.atlassian.net/wiki", space_names={})
    assert (page.id, page.kind, page.title, page.version) == ("98487", "page", "Overview", 1)
    assert page.updated_at == "2023-02-17T09:08:30.734Z" and page.created_at == page.updated_at
    assert page.url == "https://airbyteio.atlassian.net/wiki/spaces/~5fc9e78d2730d800760becc4/overview"
    assert page.space_key == "~5fc9e78d2730d800760becc4"  # from _expandable.space (stock records)
    assert page.body_html.startswith("<ac:layout>") and page.author == "5fc9e78d2730d800760becc4"
    entry = to_sweep_entry(data)
    assert (entry.id, entry.version, entry.status, entry.ancestors) == ("98487", 1, "current", None)


class _Response:
    """What the manifest's components read of a requests.Response."""

    def __init__(self, content: bytes, content_type: str = "application/json") -> None:
        self.content = content
        self.headers = {"Content-Type": content_type}


def test_manifest_components_parse_once_and_cut_the_sweep() -> None:
    from ingest.pull._airbyte import NextLink, ResultsExtractor, SweepPageExtractor, response_body, share_json

    body = {"results": [{"id": "7", "type": "page", "status": "current", "title": "T", "body": {"x": 1},
                         "version": {"number": 3, "by": {"accountId": "a"}},
                         "space": {"key": "ENG", "name": "E"}, "_links": {"webui": "/x"}}, {"no": "id"}],
            "_links": {"next": "/rest/api/content/search?cursor=abc"}}
    resp = _Response(json.dumps(body).encode())
    share_json(resp)
    assert resp.json() is response_body(resp)  # the error filter's json() is the one shared parse
    assert ResultsExtractor({}).extract_records(resp) == body["results"]
    assert SweepPageExtractor({}).extract_records(resp) == [{"results": [
        {"id": "7", "type": "page", "status": "current", "title": "T", "version": {"number": 3},
         "space": {"key": "ENG"}}]}]
    nxt = NextLink({"scheme": "https", "domain_name": "h:1"})
    assert nxt.next_page_token(resp, 2, None, None) == "https://h:1/wiki/rest/api/content/search?cursor=abc"
    last = _Response(b'{"results": [], "_links": {}}')
    assert nxt.next_page_token(last, 0, None, None) is None
    cut = _Response(b'{"results": [{"id": "1"')  # a truncated body: no records, no next page
    share_json(cut)
    with pytest.raises(ValueError):
        cut.json()
    assert ResultsExtractor({}).extract_records(cut) == [] and nxt.next_page_token(cut, 0, None, None) is None
