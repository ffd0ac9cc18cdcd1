"""Heading anchors: Cloud's id rule (checked against a real Cloud record), repeats, links, chunk anchors,
and the emulator's rendered view carrying the same ids."""

from __future__ import annotations

import html
import json
import re
from types import SimpleNamespace

from emulator.view import heading_ids, render_view
from ingest.records import Page
from ingest.text.anchors import heading_id, link
from ingest.text.chunk import Chunker
from ingest.text.clean import clean
from tests.helpers import shared_path


def _words(text: str) -> int:
    return len(text.split())


def _page(title: str, body: str) -> Page:
    return Page(id="7", kind="page", space_key="ENG", title=title, url="https://x/wiki/spaces/ENG/pages/7",
                version=1, updated_at="2024-01-01T00:00:00Z", body_html=body)


def test_ids_match_a_real_cloud_record() -> None:
    """The real Cloud page "Overview" renders its storage headings with these ids: ours are equal."""
    path = shared_path("data", "confluence", "rest_api", "v1", "airbyte_cloud_expected_records.jsonl")
    checked = 0
    for line in path.read_text().splitlines():
        data = json.loads(line).get("data", {})
        view = data.get("body", {}).get("view", {}).get("value", "")
        real = [html.unescape(m) for m in re.findall(r'<h[1-6] id="([^"]+)"', view)]
        storage = data.get("body", {}).get("storage", {}).get("value", "")
        for heading in re.findall(r"<h[1-6][^>]*>([^<]+)</h", storage):
            ours = heading_id(data["title"], html.unescape(heading))
            assert ours in real
            checked += 1
    assert checked >= 2


def test_repeated_headings_are_numbered_and_links_are_encoded() -> None:
    body = "<h1>Set up</h1><p>one two three</p><h2>Behavior</h2><p>alpha</p><h2>Behavior</h2><p>beta</p>"
    chunker = Chunker(SimpleNamespace(min_section_tokens=0), count_tokens=_words)  # type: ignore[arg-type]
    chunks = chunker.chunk(_page("Message types", body), clean(body))
    anchors = [c.anchor for c in chunks]
    assert anchors == ["Messagetypes-Setup", "Messagetypes-Behavior", "Messagetypes-Behavior.1"]
    assert anchors == heading_ids("Message types", body)
    assert link("https://x/p", "Overview-📄I've") == "https://x/p#Overview-%F0%9F%93%84I%27ve"
    assert link("https://x/p", "") == "https://x/p"


def test_text_before_the_first_heading_has_no_anchor() -> None:
    body = "<p>intro words here</p><h2>Usage</h2><p>use it</p>"
    no_merge = SimpleNamespace(min_section_tokens=0)
    chunks = Chunker(no_merge, count_tokens=_words).chunk(_page("Tool", body), clean(body))  # type: ignore[arg-type]
    assert [c.anchor for c in chunks] == ["", "Tool-Usage"]


def test_rendered_view_carries_the_ids_and_keeps_the_rest() -> None:
    body = '<h2 id="old" class="x">A <em>b</em></h2><p>keep</p><h3></h3>'
    view = render_view("My Page", body)
    assert view == '<h2 id="MyPage-Ab" class="x">A <em>b</em></h2><p>keep</p><h3></h3>'
