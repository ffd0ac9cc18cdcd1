"""Attachment files → storage-like HTML the cleaner reads (headings, paragraphs, tables), or a reason to skip.

One module imports each file library, lazily: pypdf (PDF text layer), python-docx, python-pptx and
openpyxl; CSV, plain text, Markdown and HTML need none. Tables (XLSX sheets, CSV, DOCX and PPTX
tables) become `<table>`s with the first row as the header, so the chunker repeats it in every chunk
like a page table. `extract()` never raises on a bad file: it raises `Skipped(reason)` for a scanned
PDF (no text layer), an encrypted or corrupt file, an unknown type, or a file over the size cap.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["KINDS", "Skipped", "extract", "kind_of"]

KINDS = {"pdf": "pdf", "docx": "docx", "pptx": "pptx", "xlsx": "xlsx", "csv": "csv", "txt": "txt",
         "text": "txt", "log": "txt", "md": "md", "markdown": "md", "html": "html", "htm": "html"}
_MEDIA = {"application/pdf": "pdf", "text/csv": "csv", "text/plain": "txt", "text/markdown": "md",
          "text/html": "html",
          "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
          "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx"}


class Skipped(Exception):
    """The file is not indexed; `str()` says why (for the run report)."""


def kind_of(filename: str, media_type: str = "") -> str:
    """pdf | docx | pptx | xlsx | csv | txt | md | html, or "" (unknown) from the name, else the type."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return KINDS.get(ext) or _MEDIA.get(media_type.split(";")[0].strip().lower(), "")


def extract(data: bytes, filename: str, media_type: str = "", *, max_chars: int = 200_000) -> tuple[str, str]:
    """(kind, HTML) of the file's text, cut to `max_chars` characters of text; `Skipped` if not indexable."""
    kind = kind_of(filename, media_type)
    if not kind:
        raise Skipped(f"unknown type ({media_type or 'no media type'})")
    try:
        parts = _READERS[kind](data)
        out, used = [], 0
        for part in parts:
            out.append(part)
            used += len(_TAGS.sub("", part))
            if used >= max_chars:
                break
    except Skipped:
        raise
    except Exception as exc:  # a corrupt file: any library error
        raise Skipped(f"corrupt or unreadable {kind}: {type(exc).__name__}: {str(exc)[:120]}") from exc
    body = _cut("".join(out), max_chars)
    if not _TAGS.sub("", body).strip():
        raise Skipped("no text layer (a scanned PDF?)" if kind == "pdf" else "no text")
    return kind, body


_TAGS = re.compile(r"<[^>]*>")
_TOKENS = re.compile(r"<[^>]*>|[^<]+")


def _cut(body: str, max_chars: int) -> str:
    """The body up to `max_chars` characters of text (tags kept; an open tag the parser recovers)."""
    used, out = 0, []
    for m in _TOKENS.finditer(body):
        piece = m.group(0)
        if piece.startswith("<"):
            out.append(piece)
            continue
        if used + len(piece) > max_chars:
            out.append(piece[:max_chars - used].rsplit(" ", 1)[0])
            break
        used += len(piece)
        out.append(piece)
    return "".join(out)


def _p(text: str) -> str:
    return "".join(f"<p>{html.escape(t.strip())}</p>" for t in re.split(r"\n\s*\n", text) if t.strip())


def _table(rows: Iterable[Sequence[Any]]) -> str:
    cells = [[("" if v is None else str(v)).strip() for v in row] for row in rows]
    cells = [r for r in cells if any(r)]
    if not cells:
        return ""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cells[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in cells[1:])
    return f"<table><tr>{head}</tr>{body}</table>"


def _pdf(data: bytes) -> Iterable[str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        raise Skipped("encrypted PDF")
    for n, page in enumerate(reader.pages, 1):
        text = page.extract_text() or ""
        if text.strip():
            yield f"<h2>Page {n}</h2>" + _p(text)


def _docx(data: bytes) -> Iterable[str]:
    import docx

    document = docx.Document(io.BytesIO(data))
    body = document.element.body
    paragraphs = {p._p: p for p in document.paragraphs}
    tables = {t._tbl: t for t in document.tables}
    for child in body.iterchildren():
        if child in paragraphs:
            p = paragraphs[child]
            # the style id ("Heading2") from the paragraph's XML: `p.style` resolves it through the
            # styles part on every call (a third of the time of a 60-paragraph file)
            level = re.match(r"Heading\s?(\d)", str(getattr(child, "style", None) or ""))
            text = html.escape(p.text.strip())
            if text:
                yield f"<h{level.group(1)}>{text}</h{level.group(1)}>" if level else f"<p>{text}</p>"
        elif child in tables:
            yield _table([c.text for c in row.cells] for row in tables[child].rows)


def _pptx(data: bytes) -> Iterable[str]:
    from pptx import Presentation

    deck = Presentation(io.BytesIO(data))
    for n, slide in enumerate(deck.slides, 1):
        title = slide.shapes.title.text_frame.text.strip() if slide.shapes.title is not None else ""
        parts = [f"<h2>Slide {n}{': ' + html.escape(title) if title else ''}</h2>"]
        for shape in slide.shapes:
            if shape == slide.shapes.title:
                continue
            if getattr(shape, "has_table", False) and shape.has_table:
                parts.append(_table([c.text for c in row.cells] for row in shape.table.rows))
            elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
                parts.extend(f"<p>{html.escape(p)}</p>" for p in
                             (para.text.strip() for para in shape.text_frame.paragraphs) if p)
        yield "".join(parts)


def _xlsx(data: bytes) -> Iterable[str]:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        for sheet in book.worksheets:
            yield f"<h2>{html.escape(sheet.title)}</h2>" + _table(sheet.iter_rows(values_only=True))
    finally:
        book.close()


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _csv(data: bytes) -> Iterable[str]:
    yield _table(csv.reader(io.StringIO(_text(data))))


def _txt(data: bytes) -> Iterable[str]:
    yield _p(_text(data))


def _md(data: bytes) -> Iterable[str]:
    para: list[str] = []
    for line in _text(data).splitlines():
        m = re.match(r"^(#{1,6})\s+(.*)$", line)
        if (m or not line.strip()) and para:
            yield _p("\n".join(para))
            para = []
        if m:
            yield f"<h{len(m.group(1))}>{html.escape(m.group(2).strip())}</h{len(m.group(1))}>"
        elif line.strip():
            para.append(line)
    if para:
        yield _p("\n".join(para))


def _html(data: bytes) -> Iterable[str]:
    yield _text(data)


_READERS = {"pdf": _pdf, "docx": _docx, "pptx": _pptx, "xlsx": _xlsx, "csv": _csv, "txt": _txt, "md": _md,
            "html": _html}
