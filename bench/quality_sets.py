"""The QA sets of bench/quality.py: the sample space, the SQuAD tuning half, a BEIR-style directory.

Each set is written to OUT as `corpus.jsonl` (emulator items), `spaces.jsonl`, `qa.jsonl` (kb eval's
QA format) and, for the sample space, its users and groups. Only the operator's questions are kept
(lines asked `as` someone lose the `as`; lines about pages that person may not read are dropped): the
LangChain pipeline has no access control to compare against.

BEIR layout: DIR/corpus.jsonl (`_id`, `title`, `text`), DIR/queries.jsonl (`_id`, `text`) and
DIR/qrels/test.tsv (`query-id`, `corpus-id`, `score`, with a header line; `--qrels` for another
file). One page per document (ids 40,000,001...; the mapping in OUT/beir-ids.json), one QA line per
query with a relevant document, gold graded by the qrels' scores (> 0).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
SQUAD_TUNE = ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1-tune.json"
BEIR_ID_BASE = 40_000_000


@dataclass
class QASet:
    name: str
    items: list[dict[str, Any]]
    qa_path: Path
    access: dict[str, Any] = field(default_factory=dict)  # spaces, users, groups for the emulator


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _operator_lines(rows: list[dict[str, Any]], every: int = 1) -> list[dict[str, Any]]:
    kept = [{k: v for k, v in r.items() if k not in ("as", "visible")} for r in rows
            if r.get("visible", True)]
    return kept[::every]


def sample_set(out: Path) -> QASet:
    from emulator import corpus as c

    out.mkdir(parents=True, exist_ok=True)
    qa = out / "qa.jsonl"
    _write(qa, _operator_lines(list(c.read_jsonl(c.SAMPLE_QA))))
    access = {"spaces": c.read_spaces(c.SAMPLE_SPACES), "users": c.read_users(c.SAMPLE_USERS),
              "groups": c.read_groups(c.SAMPLE_GROUPS)}
    return QASet("sample", list(c.read_corpus(c.SAMPLE_CORPUS)), qa, access)


def squad_set(out: Path, squad_json: Path = SQUAD_TUNE, every: int = 9) -> QASet:
    """The SQuAD file as pages (emulator/squad.py) and every `every`-th question."""
    from emulator import corpus as c
    from emulator.squad import convert

    corpus_path, qa_all = convert(squad_json, out)
    qa = out / "qa-every.jsonl"
    _write(qa, _operator_lines(list(c.read_jsonl(qa_all)), every))
    return QASet("squad", list(c.read_corpus(corpus_path)), qa,
                 {"spaces": c.read_spaces(out / "spaces.jsonl")})


def beir_set(beir_dir: Path, out: Path, qrels: Path | None = None, limit: int | None = None) -> QASet:
    """A BEIR-style corpus + queries + qrels as pages and graded QA lines."""
    from emulator import corpus as c

    qrels = qrels or beir_dir / "qrels" / "test.tsv"
    for need in (beir_dir / "corpus.jsonl", beir_dir / "queries.jsonl", qrels):
        if not need.is_file():
            raise SystemExit(f"error: {need} not found (a BEIR directory has corpus.jsonl, queries.jsonl "
                             "and qrels/test.tsv; --qrels names another qrels file)")
    ids: dict[str, str] = {}
    items = []
    for n, doc in enumerate(c.read_jsonl(beir_dir / "corpus.jsonl"), start=1):
        ids[str(doc["_id"])] = page = str(BEIR_ID_BASE + n)
        title = (doc.get("title") or "").strip() or f"Document {doc['_id']}"
        items.append({"id": page, "type": "page", "space": "BEIR", "title": title,
                      "body": f"<p>{escape(doc.get('text') or '')}</p>", "version": 1,
                      "created": "2020-01-01T00:00:00.000Z", "updated": "2020-01-01T00:00:00.000Z"})
    graded: dict[str, dict[str, float]] = {}
    with qrels.open(encoding="utf-8") as fh:
        for row in csv.reader(fh, delimiter="\t"):
            if len(row) < 3 or not row[2].strip().lstrip("-").isdigit():
                continue  # the header line, a blank line
            if int(row[2]) > 0 and row[1] in ids:
                graded.setdefault(row[0], {})[ids[row[1]]] = float(row[2])
    queries = {str(q["_id"]): q["text"] for q in c.read_jsonl(beir_dir / "queries.jsonl")}
    rows = [{"question": queries[q], "gold": gold} for q, gold in graded.items() if q in queries]
    out.mkdir(parents=True, exist_ok=True)
    qa = out / "qa.jsonl"
    _write(qa, rows[:limit])
    (out / "beir-ids.json").write_text(json.dumps(ids), encoding="utf-8")
    space = {"key": "BEIR", "name": beir_dir.name, "type": "global", "description": "A BEIR-style corpus."}
    return QASet(f"beir:{beir_dir.name}", items, qa, {"spaces": [space]})
