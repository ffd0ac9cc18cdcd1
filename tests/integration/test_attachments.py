"""Attachments end to end: the emulator lists and serves them as Cloud does; the pull lists them through
PyAirbyte, downloads new versions only (the request log shows it), extracts each type, and indexes each
as its own document cited with its download URL and its page's title, with its page's access. Bad files
are reported and skipped; the run goes on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.config import Settings, load_settings
from ingest.index.embed import FakeEmbedder
from ingest.pipeline import ingest
from tests.helpers import lexical_hits
from tools.sample_space.files import BAD, attachment_item, make_file

PAGE, SECRET = "83001", "83002"
FILES = {  # file name -> (spec, a query only its text answers)
    "review.pdf": (
        {"lines": ["Architecture review: the ibis cluster runs twelve nodes."]},
        "ibis twelve nodes",
    ),
    "decision.docx": (
        {
            "title": "Decision record",
            "paragraphs": ["The kestrel queue replaces cron."],
            "table": [["Owner", "Due"], ["Ann", "May"]],
        },
        "kestrel queue cron",
    ),
    "launch.pptx": (
        {"slides": [("Launch", ["The puffin launch is on March 3", "Budget forty k"])]},
        "puffin launch March",
    ),
    "rota.xlsx": (
        {"sheets": {"Rota": [["Week", "Engineer"], [1, "Zelda Quartz"], [2, "Bo"]]}},
        "Zelda Quartz",
    ),
    "hosts.csv": ({"table": [["Host", "Port"], ["gannetdb", "5432"]]}, "gannetdb"),
    "notes.txt": ({"text": "The plover backup runs at two."}, "plover backup"),
    "guide.md": ({"text": "# Guide\n\nThe godwit tool needs Python."}, "godwit tool"),
    "page.html": ({"text": "<h1>Help</h1><p>The avocet portal is internal.</p>"}, "avocet portal"),
}
USERS = [
    {"accountId": "acc-bob", "displayName": "Bob", "email": "bob@att.test"},
    {"accountId": "acc-sec", "displayName": "Sec", "email": "sec@att.test"},
]
GROUPS = [
    {"name": "confluence-users", "members": ["acc-bob", "acc-sec"]},
    {"name": "sec", "members": ["acc-sec"]},
]
SPACES = [{"key": "OPS", "name": "Ops", "permissions": {"users": [], "groups": ["confluence-users"]}}]


def _items() -> list[dict[str, Any]]:
    items = [
        {"id": PAGE, "type": "page", "space": "OPS", "title": "Platform docs", "body": "<p>Docs.</p>"},
        {
            "id": SECRET,
            "type": "page",
            "space": "OPS",
            "title": "Vault",
            "body": "<p>Vault.</p>",
            "restrictions": {"users": [], "groups": ["sec"]},
        },
    ]
    for n, (name, (spec, _)) in enumerate(FILES.items()):
        items.append(
            attachment_item(f"att{9100 + n}", PAGE, "OPS", name, make_file(name.rsplit(".", 1)[1], spec))
        )
    for n, (name, (maker, _)) in enumerate(BAD.items()):
        items.append(attachment_item(f"att{9200 + n}", PAGE, "OPS", name, maker()))
    items.append(
        attachment_item("att9300", SECRET, "OPS", "keys.txt", b"The razorbill key opens vault nine.")
    )
    return items


@pytest.fixture
def site(emulator_factory: Any, tmp_path: Path) -> tuple[Any, Settings, Any]:
    emu = emulator_factory(_items(), users=USERS, groups=GROUPS, spaces=SPACES)
    settings = load_settings(confluence=emu.confluence_settings(), data={"dir": str(tmp_path / "kb")})
    report = ingest(settings, embedder=FakeEmbedder())
    return emu, settings, report


def test_each_type_is_found_and_cited_to_its_download(site: tuple[Any, Settings, Any]) -> None:
    emu, settings, report = site
    assert report.index.pages_failed == 0
    for n, (name, (_, query)) in enumerate(FILES.items()):
        hit = lexical_hits(settings, query)[0]
        assert hit.page_id == f"att{9100 + n}" and hit.kind == "attachment", (name, hit)
        assert hit.title == f"Platform docs › {name}" and hit.link == hit.url
        assert hit.url.startswith(emu.url + f"/wiki/download/attachments/{PAGE}/")
        assert httpx.get(hit.url, auth=(emu.email, emu.token), verify=emu.ca_path).status_code == 200
    table = lexical_hits(settings, "Zelda Quartz")[0].text
    assert "Week: 1; Engineer: Zelda Quartz" in table  # the header repeated in the row


def test_bad_files_are_reported_and_skipped(site: tuple[Any, Settings, Any]) -> None:
    _, settings, report = site
    notes = "\n".join(report.pull.notes)
    for name, (_, why) in BAD.items():
        assert f"{name!r} on page {PAGE} skipped" in notes and why in notes, (name, notes)
    assert "attachments: 9 indexed, 4 skipped, 0 unchanged" in notes
    assert {h.page_id for h in lexical_hits(settings, "vault code secret")} & {
        "att9200",
        "att9201",
        "att9202",
    } == set()


def test_an_unchanged_attachment_is_not_downloaded_again(site: tuple[Any, Settings, Any]) -> None:
    emu, settings, _ = site
    emu.admin.clear_requests()
    again = ingest(settings, embedder=FakeEmbedder())
    downloads = [r for r in emu.admin.requests() if r["path"].startswith("/wiki/download/")]
    assert downloads == [] and again.index.chunks_embedded == 0
    assert "attachments: 0 indexed, 0 skipped" in "\n".join(again.pull.notes)
    emu.admin.edit("att9105", title="notes.txt")  # a new version of the same file
    emu.admin.clear_requests()
    ingest(settings, embedder=FakeEmbedder())
    downloads = [r["path"] for r in emu.admin.requests() if r["path"].startswith("/wiki/download/")]
    assert downloads == [f"/wiki/download/attachments/{PAGE}/notes.txt"]


def test_an_attachment_has_its_pages_access(site: tuple[Any, Settings, Any]) -> None:
    _, settings, _ = site
    assert [h.page_id for h in lexical_hits(settings, "razorbill key", "sec@att.test")] == ["att9300"]
    assert lexical_hits(settings, "razorbill key", "bob@att.test") == []
    assert lexical_hits(settings, "razorbill key", "nobody@att.test") == []
