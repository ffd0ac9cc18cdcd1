"""Every storage sample under ../shared/data/confluence/storage through clean and chunk.

The samples (copied from public repositories, see shared/data/confluence/README.md) come in four
shapes: storage XHTML files (.xml, .html), xwiki parser tests (.test: the `.input` section is storage
XHTML), and space exports (.entities.xml: page bodies sit in `<property name="body"><![CDATA[...]]>`,
with a nested `]]>` written as `]] >`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.config import ChunkSettings
from ingest.records import Block, Page
from ingest.text.chunk import Chunker
from ingest.text.clean import clean
from tests.helpers import shared_path

TAG = re.compile(r"</?([A-Za-z][\w:-]*)(?:\s[^<>]*)?/?>")
Cleaned = dict[str, tuple[str, list[Block]]]
INPUT = re.compile(r"^\.input\|[^\n]*\n(?:\.#[^\n]*\n)?(.*?)(?=^\.#|^\.expect|\Z)", re.S | re.M)


def storage_root() -> Path:
    return shared_path("data", "confluence", "storage")


def sample_bodies(root: Path) -> Iterator[tuple[str, str]]:
    from lxml import etree

    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        if path.name.endswith(".entities.xml"):
            tree = etree.parse(str(path), etree.XMLParser(huge_tree=True))
            for i, prop in enumerate(tree.iter("property")):
                if prop.get("name") == "body" and (prop.text or "").strip():
                    yield f"{name}#{i}", prop.text.replace("]] >", "]]>")
        elif path.suffix == ".test":
            for i, m in enumerate(INPUT.finditer(path.read_text(encoding="utf-8", errors="replace"))):
                yield f"{name}#{i}", m.group(1)
        elif path.suffix in (".xml", ".html"):
            yield name, path.read_text(encoding="utf-8", errors="replace")


def words(text: str) -> int:
    return len(text.split())


@pytest.fixture(scope="module")
def cleaned() -> Cleaned:
    return {name: (body, clean(body)) for name, body in sample_bodies(storage_root())}


def test_every_sample_cleans_and_chunks_with_no_markup_left(cleaned: Cleaned) -> None:
    assert len(cleaned) > 150
    chunker = Chunker(ChunkSettings(chunk_tokens=64, overlap_tokens=8), count_tokens=words,
                      window_tokens=80, count_window=words)
    problems = []
    for name, (body, blocks) in cleaned.items():
        page = Page(name, "page", "S", name, "", 1, "")
        chunks = chunker.chunk(page, blocks)
        problems += [f"{name}: {p}" for p in chunker.check(chunks)]
        for b in blocks:
            if b.kind == "code":
                continue
            for m in TAG.finditer(b.text):  # a tag-looking string must be escaped text in the source
                if f"&lt;{m.group(0)[1:-1]}" not in body and f"&lt;{m.group(1)}" not in body:
                    problems.append(f"{name}: markup left: {m.group(0)!r}")
            if re.search(r"\b(ac|ri):[a-z]", b.text):
                problems.append(f"{name}: namespace left: {b.text[:80]!r}")
        text = "\n".join(b.text for b in blocks)
        for account in set(re.findall(r'ri:(?:account-id|userkey)="([^"]{6,})"', body)):
            if account in text:
                problems.append(f"{name}: raw account id {account!r} in the text")
    assert problems == []


def by_name(cleaned: Cleaned, name: str) -> list[Block]:
    return cleaned[name][1]


def test_editor_sample_code_table_panel_links(cleaned: Cleaned) -> None:
    blocks = by_name(cleaned, "kovetskiy_mark/export/editor.xml")
    code = next(b for b in blocks if b.kind == "code" and "release:" in b.text)
    assert code.text == "```yaml\nrelease:\n  day: tuesday\n```"
    table = next(b for b in blocks if b.table_header)
    assert table.table_header == "Platform | Owner"
    assert table.text.startswith("Platform: linux | amd64; Owner: ")
    assert "Info: Freeze starts on 2024-03-05." in [b.text for b in blocks]
    text = "\n".join(b.text for b in blocks)
    assert "see the calendar and the rota." in text          # plain-text link body
    assert "Release notes and Runbook." in text              # attachment link body; page title
    assert "5b10a2844c20165700ede21g" not in text             # never a raw account id


def test_table_header_repeated_in_every_chunk(cleaned: Cleaned) -> None:
    blocks = by_name(cleaned, "xwiki_confluence/entities_xml/table.entities.xml#5")
    table = next(b for b in blocks if b.table_header)
    assert table.table_header.startswith("Text left aligned in this column | Text centered")
    page = Page("t", "page", "S", "Tables", "", 1, "")
    chunker = Chunker(ChunkSettings(chunk_tokens=40, overlap_tokens=0, min_section_tokens=0),
                      count_tokens=words)
    chunks = list(chunker.chunk(page, [table]))
    assert len(chunks) > 1
    assert all(c.text.startswith(table.table_header + "\n") for c in chunks)


def test_noformat_cdata_split_and_escaping(cleaned: Cleaned) -> None:
    blocks = by_name(cleaned, "kovetskiy_mark/export/escaping.xml")
    code = [b.text for b in blocks if b.kind == "code"]
    assert "```\nkeep *this*\n\n   as ]]> it is\n```" in code
    assert "````markdown\n```\nnested fence\n```\n````" in code  # a longer fence around a fence
    assert any("Markup-looking text: <div> and &copy;" in b.text for b in blocks)


def test_panel_label_from_the_adf_and_the_layout_sample(cleaned: Cleaned) -> None:
    panels = [b.text for b in by_name(cleaned, "xwiki_confluence/xhtml_inputs/"
                                      "confluence_xhtml10__specific__macro__macropanel.xml")]
    assert panels[:2] == ["Default", "Note: This is a note (woaw) 😯"]
    layout = [b.text for b in by_name(cleaned, "kovetskiy_mark/export/layout.xml")]
    assert layout == ["One", "Two", "Info — Note: An alert in a cell.", "Wide"]
