"""Attachment throughput by type: `bench/ingest.py --attachments N` (N files of each type).

For each type, an in-process emulator serves one page with N generated attachments of that type
(tools/sample_space/files.py, a few pages of text or a few hundred table rows each); a timed `kb ingest`
(pull: listing through PyAirbyte, download, extraction; index: clean, chunk, embed with the embedder
given, Chroma) reports MB/s (file bytes) and documents/s. A second ingest shows that nothing is
downloaded again.
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


def run(n: int, embedder: Any) -> None:
    from emulator.testing import running_emulator
    from ingest.config import load_settings
    from ingest.pipeline import ingest
    from tools.sample_space.files import attachment_item, make_file

    print(f"attachments: {n} of each type, embedder {embedder.model_id}")
    for kind in ("pdf", "docx", "pptx", "xlsx", "csv", "txt", "md", "html"):
        files = [make_file(kind, _spec(kind, i)) for i in range(n)]
        items = [{"id": "90001", "type": "page", "space": "BENCH", "title": "Bench page", "body": "<p>x</p>"}]
        items += [
            attachment_item(f"att{91000 + i}", "90001", "BENCH", f"file{i}.{kind}", data)
            for i, data in enumerate(files)
        ]
        size = sum(len(f) for f in files)
        with tempfile.TemporaryDirectory() as tmp, running_emulator(items) as emu:
            settings = load_settings(confluence=emu.confluence_settings(), data={"dir": tmp})
            started = time.perf_counter()
            report = ingest(settings, embedder=embedder)
            seconds = time.perf_counter() - started
            emu.admin.clear_requests()
            again = time.perf_counter()
            ingest(settings, embedder=embedder)
            again_s = time.perf_counter() - again
            downloads = sum(r["path"].startswith("/wiki/download/") for r in emu.admin.requests())
        print(
            f"  {kind:<5} {n} files {size / 1e6:6.2f} MB  {size / 1e6 / seconds:6.2f} MB/s  "
            f"{n / seconds:6.1f} docs/s  chunks {report.index.chunks_written}  "
            f"(no-change re-ingest {again_s:.2f} s, {downloads} downloads)"
        )
