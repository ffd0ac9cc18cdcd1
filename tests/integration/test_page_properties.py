"""Page Properties as filters: pages with a Page Properties (`details`) macro, ingested from the emulator;
`Filters(properties=...)`, `kb search --property` and the HTTP filters' schema return only the pages
whose properties say so, in both retrievers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ingest.config import load_settings
from ingest.errors import ConfigError
from ingest.index.embed import FakeEmbedder
from ingest.pipeline import ingest
from retrieval.http.schemas import FiltersIn
from retrieval.query.searcher import Filters, Searcher


def _details(status: str, owner: str) -> str:
    return ('<ac:structured-macro ac:name="details" ac:schema-version="1"><ac:rich-text-body><table><tbody>'
            f"<tr><th>Status</th><td>{status}</td></tr><tr><th>Owner</th><td>{owner}</td></tr>"
            "</tbody></table></ac:rich-text-body></ac:structured-macro>")


ITEMS = [{"id": str(84001 + i), "type": "page", "space": "OPS", "title": f"Cormorant design {i}",
          "body": _details(status, owner) + f"<p>The cormorant design note number {i}.</p>"}
         for i, (status, owner) in enumerate([("Approved", "Ann"), ("Draft", "Ann"), ("approved", "Bo")])]


def test_filter_by_a_page_property(emulator_factory: Any, tmp_path: Path) -> None:
    emu = emulator_factory(ITEMS)
    settings = load_settings(confluence=emu.confluence_settings(), data={"dir": str(tmp_path / "kb")})
    ingest(settings, embedder=FakeEmbedder())
    searcher = Searcher(settings, embedder=FakeEmbedder())
    try:
        for mode in ("lexical", "dense", "hybrid"):
            found = {h.page_id for h in searcher.search("cormorant design", k=10, mode=mode,
                                                         filters=Filters(properties={"Status": "Approved"}))}
            assert found == {"84001", "84003"}, mode
        both = Filters(properties=("status=approved", "owner=Ann"))
        assert {h.page_id for h in searcher.search("cormorant", k=10, filters=both)} == {"84001"}
        assert searcher.search("cormorant", filters=Filters(properties={"status": "Rejected"})) == []
    finally:
        searcher.close()
    with pytest.raises(ConfigError):
        Filters(properties=("status",))
    assert Filters.of(FiltersIn(properties={"status": "Draft"}).model_dump(exclude_none=True)).properties \
        == (("status", "Draft"),)

    from retrieval.cli import app
    from retrieval.cli.query_cmds import _filters

    assert _filters(None, None, None, None, None, ["Status=Draft"]).properties == (("status", "Draft"),)
    res = CliRunner().invoke(app, ["search", "--help"])
    assert res.exit_code == 0 and "--property" in res.output
