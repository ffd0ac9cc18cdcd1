"""Macro output that storage hides: the emulator renders Jira issues, excerpt-include, include, children
and page-properties-report macros in `body.export_view` (wrapped as Cloud wraps them); the pull reads
the rendered body through PyAirbyte for those pages only and keeps those macros' output, the rest of
the storage structure as it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingest.config import load_settings
from ingest.index.embed import FakeEmbedder
from ingest.pipeline import ingest
from ingest.storage.ledger import Ledger
from ingest.text.macros import merge_rendered
from retrieval.query.searcher import Searcher

JIRA = ('<ac:structured-macro ac:name="jira" ac:schema-version="1" ac:macro-id="m-1">'
        '<ac:parameter ac:name="key">CVD-102</ac:parameter></ac:structured-macro>')
INCLUDE = ('<ac:structured-macro ac:name="excerpt-include" ac:macro-id="m-2"><ac:parameter ac:name="">'
           '<ac:link><ri:page ri:content-title="Shearwater glossary"/></ac:link></ac:parameter>'
           '</ac:structured-macro>')
ITEMS = [
    {"id": "85001", "type": "page", "space": "OPS", "title": "Release tracker",
     "body": f"<h2>Open issues</h2>{JIRA}<h2>Terms</h2>{INCLUDE}<p>Kept storage paragraph.</p>"},
    {"id": "85002", "type": "page", "space": "OPS", "title": "Shearwater glossary",
     "body": '<ac:structured-macro ac:name="excerpt"><ac:rich-text-body><p>A shearwater is a canary '
             "deploy that flies low.</p></ac:rich-text-body></ac:structured-macro><p>More terms.</p>"},
    {"id": "85003", "type": "page", "space": "OPS", "title": "Plain page", "body": "<p>No macros here.</p>"},
]


def test_macro_output_is_found_on_the_page_that_shows_it(emulator_factory: Any, tmp_path: Path) -> None:
    emu = emulator_factory(ITEMS)
    settings = load_settings(confluence=emu.confluence_settings(), data={"dir": str(tmp_path / "kb")})
    emu.admin.clear_requests()
    ingest(settings, embedder=FakeEmbedder())
    rendered = [r for r in emu.admin.requests() if "export_view" in str(r["query"].get("expand"))]
    assert len(rendered) == 1 and "85001" in str(rendered[0]["query"]["cql"])  # only the page with macros
    searcher = Searcher(settings, embedder=FakeEmbedder())
    try:
        hit = searcher.search("token renewal leap days", k=3, mode="lexical")[0]
        assert hit.page_id == "85001" and "Registry token renewal fails on leap days" in hit.text
        assert hit.anchor == "Releasetracker-Openissues"
        hits = searcher.search("shearwater canary deploy flies low", k=5, mode="lexical")
        assert {h.page_id for h in hits} == {"85001", "85002"}
    finally:
        searcher.close()
    with Ledger(settings.data_dir) as ledger:
        body = ledger.get_page("85001").body_html  # type: ignore[union-attr]
    assert "<h2>Terms</h2>" in body and "Kept storage paragraph" in body and 'ac:name="jira"' not in body
    emu.admin.clear_requests()
    ingest(settings, embedder=FakeEmbedder())  # unchanged: not rendered again
    assert not [r for r in emu.admin.requests() if "export_view" in str(r["query"].get("expand"))]


def test_merge_by_macro_id_else_by_order() -> None:
    storage = f"<p>a</p>{JIRA}<p>b</p>" + JIRA.replace(' ac:macro-id="m-1"', "")
    view = ('<div data-macro-name="jira" data-macro-id="m-1"><b>one</b></div>'
            '<div data-macro-name="jira"><i>two</i></div><div data-macro-name="jira"><i>three</i></div>')
    merged = merge_rendered(storage, view, ["jira"])
    assert merged == '<p>a</p><div class="kb-macro-output"><b>one</b></div><p>b</p>' \
        '<div class="kb-macro-output"><i>two</i></div>'  # the 2nd jira of the storage: the 2nd shown
