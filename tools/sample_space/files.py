"""Attachment files of every indexed type, written by our own code (nothing copied): for the sample
space and the tests. A PDF with a text layer is written by hand (one page, Helvetica); DOCX, PPTX and
XLSX with python-docx, python-pptx and openpyxl; the bad cases (a PDF without a text layer, an
encrypted PDF, a corrupt DOCX, an unknown type) likewise."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

__all__ = ["BAD", "MEDIA", "attachment_item", "make_file"]

MEDIA = {"pdf": "application/pdf", "csv": "text/csv", "txt": "text/plain", "md": "text/markdown",
         "html": "text/html", "bin": "application/octet-stream",
         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def pdf_with_text(lines: Sequence[str]) -> bytes:
    """A one-page PDF whose text layer holds `lines` (a hand-written content stream)."""
    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    content = "BT /F1 11 Tf 14 TL 60 740 Td " + " ".join(f"({esc(line)}) '" for line in lines) + " ET"
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
               "/Contents 5 0 R >>", "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               f"<< /Length {len(content.encode('latin-1'))} >>\nstream\n{content}\nendstream"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n{obj}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _pypdf(encrypt: bool) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    if encrypt:
        writer.append(PdfReader(io.BytesIO(pdf_with_text(["The vault code is secret."]))))
        writer.encrypt("owner-and-user-password")
    else:
        writer.add_blank_page(612, 792)  # a scan's page: an image at most, no text layer
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def _docx(title: str, paragraphs: Sequence[str], table: Sequence[Sequence[str]]) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading(title, level=1)
    for p in paragraphs:
        document.add_paragraph(p)
    if table:
        t = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                t.cell(r, c).text = value
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _pptx(slides: Sequence[tuple[str, Sequence[str]]]) -> bytes:
    from pptx import Presentation

    deck = Presentation()
    for title, bullets in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        body = slide.placeholders[1].text_frame
        body.text = bullets[0]
        for b in bullets[1:]:
            body.add_paragraph().text = b
    buf = io.BytesIO()
    deck.save(buf)
    return buf.getvalue()


def _xlsx(sheets: dict[str, Sequence[Sequence[Any]]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def make_file(kind: str, spec: dict[str, Any]) -> bytes:
    """The bytes of a file of `kind` from `spec` (lines, paragraphs, table, slides, sheets, text)."""
    if kind == "pdf":
        return pdf_with_text(spec["lines"])
    if kind == "docx":
        return _docx(spec.get("title", ""), spec.get("paragraphs", ()), spec.get("table", ()))
    if kind == "pptx":
        return _pptx(spec["slides"])
    if kind == "xlsx":
        return _xlsx(spec["sheets"])
    if kind == "csv":
        return "\n".join(",".join(row) for row in spec["table"]).encode() + b"\n"
    return str(spec["text"]).encode("utf-8")


BAD = {  # file name -> (bytes maker, why it is skipped)
    "scan.pdf": (lambda: _pypdf(encrypt=False), "no text layer"),
    "locked.pdf": (lambda: _pypdf(encrypt=True), "encrypted"),
    "broken.docx": (lambda: b"PK\x03\x04 not really a zip", "corrupt"),
    "firmware.bin": (lambda: bytes(range(256)) * 4, "unknown type"),
}


def attachment_item(att_id: str, page_id: str, space: str, filename: str, data: bytes,
                    **extra: Any) -> dict[str, Any]:
    """A corpus line (or admin create) of an attachment."""
    kind = filename.rsplit(".", 1)[-1]
    return {"id": att_id, "type": "attachment", "parent_id": page_id, "space": space, "title": filename,
            "media_type": MEDIA.get(kind, "application/octet-stream"),
            "data_b64": base64.b64encode(data).decode(), **extra}
