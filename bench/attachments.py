"""Attachment throughput by type: `bench/ingest.py --attachments N` (N files of each type).

For each type, an in-process emulator serves one page with N generated attachments of that type
(tools/sample_space/files.py, a few pages of text or a few hundred table rows each); a timed ingest
(pull: listing through PyAirbyte, download, extraction; index: clean, chunk, embed with the embedder
given, Chroma) is followed by a no-change ingest (the same fixed costs: source start, listing, no
download). MB/s (file bytes) and documents/s are over the difference: the per-file work. A warm-up
ingest first loads the libraries. The no-change ingest also shows that nothing is downloaded again.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

WORDS = [
    "gateway",
    "wal",
    "segment",
    "tenant",
    "quota",
    "sink",
    "router",
    "keeper",
    "replay",
    "archive",
    "node",
    "drain",
    "token",
    "latency",
    "throughput",
    "backup",
    "restore",
    "schema",
    "registry",
    "partition",
    "offset",
]


def _spec(kind: str, n: int) -> dict[str, Any]:
    lines = [
        " ".join(WORDS[(n + i + j) % len(WORDS)] for j in range(14)) + f" item {n}-{i}." for i in range(60)
    ]
    rows = [["Key", "Value", "Note"]] + [[f"k{n}-{i}", str(i * 7), lines[i % 60][:40]] for i in range(300)]
    return {
        "pdf": {"lines": lines[:45]},
        "docx": {"title": f"Doc {n}", "paragraphs": lines, "table": rows[:40]},
        "pptx": {"slides": [(f"Slide {s}", lines[s * 5 : s * 5 + 5]) for s in range(10)]},
        "xlsx": {"sheets": {"Data": rows}},
        "csv": {"table": rows},
        "txt": {"text": "\n\n".join(lines)},
        "md": {"text": "# Notes\n\n" + "\n\n".join(lines)},
        "html": {"text": "<h1>Notes</h1>" + "".join(f"<p>{line}</p>" for line in lines)},
    }[kind]


KINDS = ("pdf", "docx", "pptx", "xlsx", "csv", "txt", "md", "html")


def run(n: int, embedder: Any) -> None:
    print(f"attachments: {n} of each type, embedder {embedder.model_id}")
    _one(KINDS, 1, embedder)  # warm-up: libraries, model, first emulator
    for kind in KINDS:
        _one((kind,), n, embedder, show=True)


def _one(kinds: tuple[str, ...], n: int, embedder: Any, show: bool = False) -> None:
    from emulator.testing import running_emulator
    from ingest.config import load_settings
    from ingest.pipeline import ingest
    from tools.sample_space.files import attachment_item, make_file

    files = [(f"file{i}.{kind}", make_file(kind, _spec(kind, i))) for kind in kinds for i in range(n)]
    items = [{"id": "90001", "type": "page", "space": "BENCH", "title": "Bench page", "body": "<p>x</p>"}]
    items += [
        attachment_item(f"att{91000 + i}", "90001", "BENCH", name, data)
        for i, (name, data) in enumerate(files)
    ]
    size = sum(len(data) for _, data in files)
    with tempfile.TemporaryDirectory() as tmp, running_emulator(items) as emu:
        settings = load_settings(confluence=emu.confluence_settings(), data={"dir": tmp})
        started = time.perf_counter()
        report = ingest(settings, embedder=embedder)
        first = time.perf_counter() - started
        emu.admin.clear_requests()
        started = time.perf_counter()
        ingest(settings, embedder=embedder)
        again = time.perf_counter() - started
        downloads = sum(r["path"].startswith("/wiki/download/") for r in emu.admin.requests())
        work = _download_and_extract(settings, emu, files)
    if show:
        print(
            f"  {kinds[0]:<5} {n} files {size / 1e6:5.2f} MB  download+extract {size / 1e6 / work:6.2f} MB/s "
            f"{n / work:6.1f} docs/s | whole ingest {first:5.2f} s ({n / first:5.1f} docs/s, "
            f"{report.index.chunks_written} chunks), no-change {again:.2f} s, {downloads} downloads"
        )


def _download_and_extract(settings: Any, emu: Any, files: list[tuple[str, bytes]]) -> float:
    """Seconds to download every file from the emulator and extract it, with the pull's own functions."""
    from ingest.pull.attachments import _client, _download
    from ingest.text.files import extract

    started = time.perf_counter()
    with _client(settings) as client:
        for name, _ in files:
            data = _download(client, f"{emu.url}/wiki/download/attachments/90001/{name}", 1 << 30)
            extract(data, name)
    return time.perf_counter() - started
