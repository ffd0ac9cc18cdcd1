"""Convert SQuAD v1.1 JSON into an emulator corpus and a QA file.

One page per article in the space SQUAD (title = the article title with underscores as spaces), the
paragraphs as `<p>` elements with an `<h2>` before every `paragraphs_per_section` of them, and one QA
line per question: `{"question", "answers": [distinct answer texts], "gold": [the article's page id]}`.
Beside the corpus it writes `spaces.jsonl`, so `kb emulator --corpus OUT/corpus.jsonl` finds the space.

    python -m emulator.squad ../shared/data/squad/dev-v1.1-tune.json /tmp/squad
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from emulator.corpus import write_jsonl

SPACE = {"key": "SQUAD", "name": "SQuAD articles", "type": "global",
         "description": "Wikipedia articles of the SQuAD v1.1 data set, one page each."}
ID_BASE = 30_000_000  # far from the sample's (5 digits) and the generator's (10,000,000 + n) ids
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed in XML 1.0


def _text(value: str) -> str:
    return escape(_CONTROL.sub(" ", value))


def page_id(index: int) -> str:
    """The page id of the article at `index` (0-based) in the input file."""
    return str(ID_BASE + index + 1)


def article_body(title: str, paragraphs: list[str], paragraphs_per_section: int) -> str:
    """Storage XHTML: an h2 before every `paragraphs_per_section` paragraphs, each paragraph a <p>."""
    parts = []
    for start in range(0, len(paragraphs), paragraphs_per_section):
        parts.append(f"<h2>{_text(title)}: part {start // paragraphs_per_section + 1}</h2>")
        section = paragraphs[start:start + paragraphs_per_section]
        parts.extend(f"<p>{_text(text.strip())}</p>" for text in section)
    return "".join(parts)


def _articles(data: dict[str, Any], limit: int | None) -> list[dict[str, Any]]:
    articles = data.get("data")
    if not isinstance(articles, list):
        raise ValueError("not a SQuAD v1.1 file: no top-level 'data' list")
    return articles if limit is None else articles[:limit]


def _pages(articles: list[dict[str, Any]], paragraphs_per_section: int) -> Iterator[dict[str, Any]]:
    for index, article in enumerate(articles):
        title = article["title"].replace("_", " ").strip()
        paragraphs = [p["context"] for p in article.get("paragraphs", [])]
        stamp = f"2016-06-{1 + index % 28:02d}T{index // 28 % 24:02d}:00:00.000Z"
        yield {"id": page_id(index), "type": "page", "space": SPACE["key"], "title": title,
               "body": article_body(title, paragraphs, paragraphs_per_section), "labels": ["squad"],
               "created": stamp, "updated": stamp, "version": 1}


def _questions(articles: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for index, article in enumerate(articles):
        for paragraph in article.get("paragraphs", []):
            for qa in paragraph.get("qas", []):
                texts = (a["text"].strip() for a in qa.get("answers", []))
                answers = list(dict.fromkeys(text for text in texts if text))
                yield {"question": qa["question"].strip(), "answers": answers, "gold": [page_id(index)]}


def convert(squad_json_path: str | Path, out_dir: str | Path, paragraphs_per_section: int = 3,
            limit: int | None = None) -> tuple[Path, Path]:
    """Write OUT/corpus.jsonl, OUT/qa.jsonl and OUT/spaces.jsonl; returns (corpus_path, qa_path).

    `limit` keeps only the first N articles.
    """
    if paragraphs_per_section < 1:
        raise ValueError("paragraphs_per_section must be at least 1")
    with open(squad_json_path, encoding="utf-8") as fh:
        articles = _articles(json.load(fh), limit)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    corpus_path, qa_path = out / "corpus.jsonl", out / "qa.jsonl"
    write_jsonl(_pages(articles, paragraphs_per_section), corpus_path)
    write_jsonl(_questions(articles), qa_path)
    write_jsonl([SPACE], out / "spaces.jsonl")
    return corpus_path, qa_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator.squad", description=__doc__.splitlines()[0])
    parser.add_argument("squad_json", type=Path, help="a SQuAD v1.1 JSON file")
    parser.add_argument("out_dir", type=Path, help="where corpus.jsonl, qa.jsonl and spaces.jsonl go")
    parser.add_argument("--paragraphs-per-section", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="convert only the first N articles")
    args = parser.parse_args(argv)
    try:
        corpus_path, qa_path = convert(args.squad_json, args.out_dir, args.paragraphs_per_section, args.limit)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: cannot convert {args.squad_json}: {exc}", file=sys.stderr)
        return 1
    pages = sum(1 for _ in corpus_path.open(encoding="utf-8"))
    questions = sum(1 for _ in qa_path.open(encoding="utf-8"))
    print(f"wrote {pages} pages to {corpus_path} and {questions} questions to {qa_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
