"""Comments end to end: the emulator serves footer and inline comments as Cloud does; the pull reads
them through PyAirbyte; each is a section of its page, found, cited to `page-url#comment-ID`, re-embedded
alone when new, and seen only by those who may view the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.config import Settings, load_settings
from ingest.index.embed import FakeEmbedder
from ingest.pipeline import ingest
from tests.helpers import lexical_hits

ITEMS = [
    {"id": "82001", "type": "page", "space": "OPS", "title": "Pelican release plan",
     "body": "<h2>Schedule</h2><p>The pelican release ships on the first Monday of each month.</p>"
             "<h2>Rollback</h2><p>Roll back with the pelican-rollback job.</p>"},
    {"id": "82002", "type": "page", "space": "OPS", "title": "Heron vault notes",
     "body": "<p>The heron vault keys rotate weekly.</p>", "restrictions": {"users": [], "groups": ["sec"]}},
]
USERS = [{"accountId": "acc-bob", "displayName": "Bob", "email": "bob@cmt.test"},
         {"accountId": "acc-sec", "displayName": "Sec", "email": "sec@cmt.test"}]
GROUPS = [{"name": "confluence-users", "members": ["acc-bob", "acc-sec"]},
          {"name": "sec", "members": ["acc-sec"]}]
SPACES = [{"key": "OPS", "name": "Ops", "permissions": {"users": [], "groups": ["confluence-users"]}}]


@pytest.fixture
def site(emulator_factory: Any, tmp_path: Path) -> tuple[Any, Settings]:
    emu = emulator_factory(ITEMS, users=USERS, groups=GROUPS, spaces=SPACES)
    settings = load_settings(confluence=emu.confluence_settings(), data={"dir": str(tmp_path / "kb")})
    ingest(settings, embedder=FakeEmbedder())
    return emu, settings


def _comment(emu: Any, page: str, body: str, **extra: Any) -> str:
    return emu.admin.create({"type": "comment", "parent_id": page, "space": "OPS", "title": "Re: page",
                             "body": body, "author": "acc-bob", **extra})


def test_comments_are_served_as_cloud_serves_them(site: tuple[Any, Settings]) -> None:
    emu, _ = site
    footer = _comment(emu, "82001", "<p>Footer words.</p>")
    inline = _comment(emu, "82001", "<p>Inline words.</p>", location="inline", selection="first Monday")
    r = httpx.get(f"{emu.url}/wiki/rest/api/content/82001/child/comment", auth=(emu.email, emu.token),
                  params={"expand": "body.storage,extensions.inlineProperties,container",
                          "location": "inline"},
                  verify=emu.ca_path)
    results = r.json()["results"]
    assert [c["id"] for c in results] == [inline] and results[0]["type"] == "comment"
    assert results[0]["extensions"]["location"] == "inline"
    assert results[0]["extensions"]["inlineProperties"]["originalSelection"] == "first Monday"
    assert results[0]["container"]["id"] == "82001"
    assert results[0]["_links"]["webui"].endswith(f"?focusedCommentId={inline}#comment-{inline}")
    both = httpx.get(f"{emu.url}/wiki/rest/api/content/82001/child/comment", auth=(emu.email, emu.token),
                     verify=emu.ca_path).json()["results"]
    assert [c["id"] for c in both] == [footer, inline]


def test_a_new_comment_is_found_cited_to_its_anchor_and_embeds_alone(site: tuple[Any, Settings]) -> None:
    emu, settings = site
    first = _comment(emu, "82001", "<p>Decision: the pelican release moves to Tuesdays from June.</p>")
    report = ingest(settings, embedder=FakeEmbedder())
    assert report.index.chunks_embedded == 1 and report.index.pages_changed == 1, report.to_dict()
    hit = lexical_hits(settings, "pelican Tuesdays June")[0]
    assert hit.page_id == "82001" and hit.anchor == f"comment-{first}"
    assert hit.link == f"{hit.url}#comment-{first}" and "Comment by Bob" in hit.text

    inline = _comment(emu, "82001", "<p>Is this the first Monday in UTC?</p>", location="inline",
                      selection="first Monday of each month")
    report = ingest(settings, embedder=FakeEmbedder())
    assert report.index.chunks_embedded == 1, report.to_dict()  # the first comment's vector is reused
    hit = lexical_hits(settings, "UTC Monday inline")[0]
    assert hit.anchor == f"comment-{inline}" and "“first Monday of each month”" in hit.text

    again = ingest(settings, embedder=FakeEmbedder())
    assert again.index.chunks_embedded == 0 and again.index.pages_unchanged == 2


def test_a_comment_inherits_its_pages_access(site: tuple[Any, Settings]) -> None:
    emu, settings = site
    _comment(emu, "82002", "<p>The heron vault passphrase lives in the ostrich safe.</p>")
    ingest(settings, embedder=FakeEmbedder())
    assert [h.page_id for h in lexical_hits(settings, "ostrich safe", "sec@cmt.test")] == ["82002"]
    assert lexical_hits(settings, "ostrich safe", "bob@cmt.test") == []
    assert lexical_hits(settings, "ostrich safe", "nobody@cmt.test") == []
