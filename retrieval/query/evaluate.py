"""Retrieval evaluation over a QA file: recall@1/5/10, MRR@10, nDCG@10 over pages, answer hit, latency.

QA file: JSON Lines `{"question": str, "answers"?: [str], "gold": [page ids] | {page id: grade}}`. A
retrieved chunk is relevant when it comes from a gold page and, where the line lists answers, its text
contains one of them (case- and whitespace-insensitive). `ndcg@10` is over pages, BEIR-style: the
retrieved chunks become a ranked list of distinct pages (first occurrence), each page's gain its grade
(a list of gold pages: 1 each; answers play no part), linear gain, log2 discount, normalised by the
ideal order. `answer_hit`: the extractive answer contains an answer string (or, for a line without
answers, cites a gold page); None when the answer step is skipped (`with_answers=False`, `kb eval
--no-answer`). Latency is the search alone (query embedding included), per question.

Access: a line with `"as": "<email or account id>"` is asked as that person. With `"visible": false`
that person may read none of its gold pages: the line is not scored for recall; it counts in
`refused`, and in `leaks` when a gold page appears among the hits or an answer string in the answer
(a leak is a bug: the knowledge base showed what Confluence would not).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ingest.config import Settings, as_settings
from ingest.errors import ConfigError
from retrieval.query.searcher import Hit, Searcher

KEYS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "answer_hit", "p50_ms", "p95_ms",
        "questions")
NDCG_AT = 10


@dataclass(frozen=True)
class QAItem:
    question: str
    gold: tuple[str, ...]
    answers: tuple[str, ...] = ()
    as_user: str | None = None
    visible: bool = True
    grades: tuple[float, ...] = ()  # per gold page, same order; () = 1 each

    def gains(self) -> dict[str, float]:
        """Gold page id -> graded relevance (1.0 each unless the line graded them)."""
        return dict(zip(self.gold, self.grades or (1.0,) * len(self.gold), strict=True))


@dataclass(frozen=True)
class EvalReport:
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr_at_10: float
    answer_hit: float | None
    p50_ms: float
    p95_ms: float
    questions: int
    mode: str = "hybrid"
    refused: int = 0
    leaks: int = 0
    ndcg_at_10: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Exactly the `kb eval --json` keys (plus `refused` and `leaks` for a file with refused lines);
        `answer_hit` is None when the answer step was skipped."""
        values = (self.recall_at_1, self.recall_at_5, self.recall_at_10, self.mrr_at_10, self.ndcg_at_10,
                  self.answer_hit, self.p50_ms, self.p95_ms, self.questions)
        out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in zip(KEYS, values, strict=False)}
        if self.refused:
            out.update(refused=self.refused, leaks=self.leaks)
        return out


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def read_qa(path: str | Path) -> Iterator[QAItem]:
    """QA items from a JSON Lines file; a bad line is an error naming the line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"QA file not found: {path}", "pass a JSON Lines file to --qa")
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                gold = row["gold"]
                graded = isinstance(gold, dict)
                yield QAItem(str(row["question"]), tuple(str(g) for g in gold),
                             tuple(str(a) for a in row.get("answers") or ()),
                             str(row["as"]) if row.get("as") else None, bool(row.get("visible", True)),
                             tuple(float(v) for v in gold.values()) if graded else ())
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ConfigError(f"{path}:{number} is not a QA line ({exc})",
                                  'each line: {"question": "...", "gold": ["page id"], '
                                  '"answers": ["..."]}') from exc


def relevant(hit: Hit, item: QAItem) -> bool:
    if hit.page_id not in item.gold:
        return False
    if not item.answers:
        return True
    text = _norm(hit.text)
    return any(_norm(a) in text for a in item.answers)


def first_relevant_rank(hits: list[Hit], item: QAItem) -> int | None:
    return next((rank for rank, hit in enumerate(hits, start=1) if relevant(hit, item)), None)


def ndcg(page_ids: Sequence[str], gains: dict[str, float], at: int = NDCG_AT) -> float:
    """nDCG@at of a ranked page list (duplicates after the first count nothing) against graded gains."""
    ranked = list(dict.fromkeys(page_ids))[:at]
    dcg = sum(gains.get(p, 0.0) / math.log2(i + 2) for i, p in enumerate(ranked))
    ideal = sorted((g for g in gains.values() if g > 0), reverse=True)[:at]
    best = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best > 0 else 0.0


def answered(answer: Any, item: QAItem) -> bool:
    if answer.not_found:
        return False
    if item.answers:
        text = _norm(answer.text)
        return any(_norm(a) in text for a in item.answers)
    return any(h.page_id in item.gold for h in answer.hits
               if h.chunk_id in {c.chunk_id for c in answer.citations})


def evaluate(settings: Settings | str | None, qa_path: str | Path, *, k: int = 10, mode: str | None = None,
             limit: int | None = None, searcher: Searcher | None = None, with_answers: bool = True,
             progress: Callable[[int, int | None], None] | None = None) -> EvalReport:
    """Run every question of the QA file through search (and, unless `with_answers=False`, the
    extractive answer). `progress(done, total)` is called after each scored question."""
    from retrieval.query.answer import Answerer

    settings = as_settings(settings)
    items = list(read_qa(qa_path))  # read whole first: a bad line fails before any search
    scored = sum(1 for item in items if item.visible)
    total = scored if limit is None else min(limit, scored)
    own = searcher is None
    searcher = searcher or Searcher(settings)
    mode = mode or settings.retrieval.mode
    answerer = Answerer(searcher, llm=None)
    ranks: list[int | None] = []
    ndcgs: list[float] = []
    hits_answered = 0
    latencies: list[float] = []
    refused = leaks = 0
    # deep enough for NDCG_AT distinct pages under the per-page cap; the first k are the same hits
    depth = max(k, 10, NDCG_AT * settings.retrieval.per_page)
    try:
        for item in items:
            if limit is not None and len(ranks) >= limit:
                break
            start = time.perf_counter()
            qvec = None if mode == "lexical" else searcher.embedder.embed_query(item.question)
            hits = searcher.search(item.question, k=depth, mode=mode, query_vector=qvec,
                                   principal=item.as_user)
            latencies.append((time.perf_counter() - start) * 1000)
            if not item.visible:
                refused += 1
                answer = answerer.answer(item.question, hits[:settings.retrieval.k], query_vector=qvec)
                leaks += any(h.page_id in item.gold for h in hits) or (
                    bool(item.answers) and any(_norm(a) in _norm(answer.text) for a in item.answers))
                continue
            ranks.append(first_relevant_rank(hits[:k], item))
            ndcgs.append(ndcg([h.page_id for h in hits], item.gains()))
            if with_answers:  # the answer reuses the query vector: embedded once per question
                answer = answerer.answer(item.question, hits[:settings.retrieval.k], query_vector=qvec)
                hits_answered += answered(answer, item)
            if progress:
                progress(len(ranks), total)
    finally:
        if own:
            searcher.close()
    return _report(ranks, hits_answered if with_answers else None, latencies, mode, refused, leaks, ndcgs)


def _report(ranks: list[int | None], answered_count: int | None, latencies: list[float], mode: str,
            refused: int = 0, leaks: int = 0, ndcgs: Sequence[float] = ()) -> EvalReport:
    """The report of per-question first relevant ranks (None: none in the top k), answers that hit
    (None: not asked), search latencies and page nDCGs."""
    n = len(ranks)
    if n == 0:
        return EvalReport(0.0, 0.0, 0.0, 0.0, None if answered_count is None else 0.0, 0.0, 0.0, 0, mode,
                          refused, leaks)

    def recall(at: int) -> float:
        return sum(1 for r in ranks if r is not None and r <= at) / n

    mrr = sum(1.0 / r for r in ranks if r is not None and r <= 10) / n
    lat = np.asarray(latencies)
    return EvalReport(recall(1), recall(5), recall(10), mrr,
                      None if answered_count is None else answered_count / n,
                      round(float(np.percentile(lat, 50)), 2), round(float(np.percentile(lat, 95)), 2), n,
                      mode, refused, leaks, float(np.mean(ndcgs)) if len(ndcgs) else 0.0)
