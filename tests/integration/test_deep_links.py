"""Deep links end to end: the sample space ingested from the emulator over loopback; every chunk's
anchor is an id of a heading in the page as the emulator renders it (`body.view`), and search hits and
citations link to `page-url#anchor`."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

import httpx

from ingest.index.embed import FakeEmbedder
from ingest.pipeline import ingest
from ingest.storage.ledger import Ledger
from ingest.text.anchors import link
from retrieval.query.answer import Answerer
from retrieval.query.searcher import Searcher
from tests.helpers import kb_settings


def _view_ids(emu: Any, page_id: str) -> set[str]:
    r = httpx.get(f"{emu.url}/wiki/rest/api/content/{page_id}", params={"expand": "body.view"},
                  auth=(emu.email, emu.token), verify=emu.ca_path)
    r.raise_for_status()
    return {unescape(i) for i in re.findall(r'<h[1-6] id="([^"]+)"', r.json()["body"]["view"]["value"])}


def test_chunk_anchors_are_ids_in_the_rendered_page(emulator: Any, tmp_path: Path) -> None:
    settings, fake = kb_settings(emulator, tmp_path / "kb"), FakeEmbedder()
    ingest(settings, embedder=fake)
    with Ledger(settings.data_dir) as ledger:
        rows = [tuple(r) for r in ledger.conn.execute(
            "SELECT page_id, anchor FROM chunks WHERE anchor != '' AND anchor NOT LIKE 'comment-%'")]
    pages = sorted({p for p, _ in rows})
    assert len(rows) > 20 and len(pages) > 5
    for page_id in pages:
        ids = _view_ids(emulator, page_id)
        assert {a for p, a in rows if p == page_id} <= ids, page_id

    searcher = Searcher(settings, embedder=fake)
    try:
        hits = searcher.search("rotate", k=10)
        anchored = [h for h in hits if h.anchor]
        assert anchored and all(h.link == link(h.url, h.anchor) and "#" in h.link for h in anchored)
        assert anchored[0].to_dict()["link"] == anchored[0].link
        cited = Answerer._citation(1, anchored[0], "quote").to_dict()  # the fake embedder finds no answer
        assert cited["link"] == anchored[0].link and cited["link"].startswith(cited["url"] + "#")
    finally:
        searcher.close()
