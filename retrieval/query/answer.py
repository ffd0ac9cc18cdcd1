"""Answers with citations: extractive by default (offline), an LLM through LangChain when configured.

Extractive: the sentences of the top chunks are scored against the question with the same embedder
that built the index; the best few are returned, each followed by `[n]`, with numbered citations
(title, url, chunk id, the quoted span). When the best chunk's similarity is below
`[retrieval] min_score`, the answer is "not found in the knowledge base" with the closest pages.

LLM (`[llm] provider/model`, or a chat model injected as `llm=`): a prompt holding the top chunks
within `[llm] max_context_tokens` (tiktoken), `[n]` citations in the reply checked against the chunks
it was shown (invalid ones dropped, the rest renumbered); no valid citation left, or any failure ->
the extractive answer, with a warning.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from ingest.config import Settings, as_settings
from retrieval.query.searcher import Filters, Hit, Searcher, fts_terms

log = logging.getLogger(__name__)

NOT_FOUND = "Not found in the knowledge base."
CONTEXT_HITS = 4          # chunks whose sentences compete for the extractive answer
MAX_SENTENCES = 3         # sentences in an extractive answer
SENTENCE_MARGIN = 0.12    # a sentence must score within this of the best one to be kept
MIN_WORDS, MAX_WORDS = 3, 80
QUOTE_CHARS = 300
LEXICAL_WEIGHT = 0.2      # bonus for the share of the question's words a sentence holds
RANK_PENALTY = 0.03       # per rank of the chunk a sentence comes from
SENTENCE_CACHE = 20_000   # sentence vectors kept per Answerer
_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[`A-Z0-9])")
_MARKER = re.compile(r"^\s*(?:[-*•]|\d+[.)]|#+)\s+")
_CITE = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")

SYSTEM_PROMPT = (
    "You answer questions about a company's Confluence wiki using only the numbered sources given. "
    "Cite every statement with the source number in square brackets, e.g. [1] or [2][3]. "
    "If the sources do not contain the answer, say that the knowledge base does not say. Be concise."
)


@dataclass(frozen=True)
class Citation:
    number: int
    title: str
    url: str
    chunk_id: str
    quote: str
    link: str = ""  # `url#heading-anchor`: where the citation opens (the url when there is no anchor)
    updated_at: str = ""  # the cited page's version time (ISO, from the ledger): how fresh the source is

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "title": self.title, "url": self.url, "chunk_id": self.chunk_id,
                "quote": self.quote, "link": self.link or self.url, "updated_at": self.updated_at}


@dataclass(frozen=True)
class Answer:
    """An answer: text with `[n]` markers, the citations they point to, the hits it was drawn from."""

    text: str
    citations: tuple[Citation, ...] = ()
    hits: tuple[Hit, ...] = ()
    confidence: float = 0.0
    not_found: bool = False
    warnings: tuple[str, ...] = ()
    method: str = "extractive"
    closest: tuple[dict[str, str], ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "citations": [c.to_dict() for c in self.citations],
                "hits": [h.to_dict() for h in self.hits], "confidence": round(self.confidence, 4),
                "not_found": self.not_found, "warnings": list(self.warnings), "method": self.method,
                "closest": [dict(c) for c in self.closest]}


def split_sentences(text: str) -> list[str]:
    """Sentences (and list items, table rows, code lines) of a chunk's text, trimmed; fences dropped."""
    out: list[str] = []
    for line in (text or "").splitlines():
        line = _MARKER.sub("", line.strip())
        if not line or line.startswith("```"):
            continue
        for part in _BOUNDARY.split(line):
            words = part.split()
            if len(words) < MIN_WORDS:
                continue
            out.append(" ".join(words[:MAX_WORDS]))
    return out


def _overlap(terms: set[str], sentence: str) -> float:
    """The share of the question's words (stopwords aside) found in the sentence."""
    if not terms:
        return 0.0
    words = {w.lower() for w in re.findall(r"\w+", sentence)}
    return len(terms & words) / len(terms)


def _vector(values: Any) -> np.ndarray:
    vec = np.asarray(values, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm > 0 else vec


class Answerer:
    """Answers questions over a Searcher. `llm`: a LangChain chat model (else from `[llm]`, else none)."""

    def __init__(self, searcher: Searcher, *, llm: Any = None) -> None:
        self.searcher = searcher
        self.settings: Settings = searcher.settings
        self._llm = llm
        self._llm_error: str | None = None
        self._cache: dict[str, np.ndarray] = {}

    # -- entry points -------------------------------------------------------------------------------
    def ask(self, question: str, filters: Filters | dict[str, Any] | None = None, k: int | None = None,
            history: Sequence[Any] | None = None, mode: str | None = None, *,
            principal: Any = None) -> Answer:
        """A cited answer from the pages `principal` may view (None: every page, the operator)."""
        qvec = _vector(self.searcher.embedder.embed_query(question))
        hits = self.searcher.search(question, k=k, filters=filters, mode=mode, query_vector=qvec,
                                    principal=principal)
        return self.answer(question, hits, history=history, query_vector=qvec)

    def answer(self, question: str, hits: Sequence[Hit], *, history: Sequence[Any] | None = None,
               query_vector: Any = None) -> Answer:
        """Answer from hits already retrieved (the evaluator and the server reuse their search)."""
        qvec = _vector(query_vector if query_vector is not None
                       else self.searcher.embedder.embed_query(question))
        hits = tuple(hits)
        confidence = self.confidence(hits, qvec)
        if not hits or confidence < self.settings.retrieval.min_score:
            return self.not_found(hits, confidence)
        warnings: list[str] = []
        llm = self.chat_model(warnings)
        if llm is not None:
            try:
                answer = self._llm_answer(llm, question, hits, qvec, confidence, history)
                if answer is not None:
                    return answer
                warnings.append("the LLM's answer cited no valid source; showing the extractive answer")
            except Exception as exc:  # any provider failure falls back; the edge sees a warning
                log.warning("LLM failed: %s", exc)
                warnings.append(f"the LLM failed ({type(exc).__name__}: {str(exc)[:200]}); "
                                "showing the extractive answer")
        return self.extractive(question, hits, qvec, confidence, tuple(warnings))

    # -- scoring ------------------------------------------------------------------------------------
    def confidence(self, hits: Sequence[Hit], qvec: np.ndarray) -> float:
        """The best cosine similarity between the question and the top chunks."""
        sims = [h.similarity for h in hits[:CONTEXT_HITS] if h.similarity is not None]
        missing = [h for h in hits[:CONTEXT_HITS] if h.similarity is None]
        if missing:
            sims.extend(self._similarities(missing, qvec))
        return max(sims, default=0.0)

    def _similarities(self, hits: Sequence[Hit], qvec: np.ndarray) -> list[float]:
        vectors: dict[str, Any] = {}
        try:
            vectors = self.searcher.store.get_vectors([h.chunk_id for h in hits])
        except Exception as exc:  # no store (lexical-only set-ups): embed the texts instead
            log.debug("no stored vectors (%s); embedding the hits", exc)
        todo = [h for h in hits if h.chunk_id not in vectors]
        if todo:
            from ingest.records import embed_text

            mat = self.searcher.embedder.embed_documents([embed_text(h.title, h.text) for h in todo])
            vectors.update({h.chunk_id: row for h, row in zip(todo, mat, strict=False)})
        return [float(_vector(vectors[h.chunk_id]) @ qvec) for h in hits]

    def _sentences(self, hits: Sequence[Hit], qvec: np.ndarray,
                   question: str = "") -> list[tuple[float, int, int, str]]:
        """(score, hit index, position, sentence) for the sentences of `hits`, best first."""
        items = [(i, pos, s) for i, h in enumerate(hits) for pos, s in enumerate(split_sentences(h.text))]
        if not items:
            items = [(i, 0, " ".join(h.text.split()[:MAX_WORDS])) for i, h in enumerate(hits)
                     if h.text.strip()]
        if not items:
            return []
        sims = self._embed_sentences([s for _, _, s in items]) @ qvec
        terms = set(fts_terms(question)) if question else set()
        scored = [(float(sim) + LEXICAL_WEIGHT * _overlap(terms, s) - RANK_PENALTY * i, i, pos, s)
                  for (i, pos, s), sim in zip(items, sims, strict=False)]
        return sorted(scored, key=lambda t: -t[0])

    def _embed_sentences(self, sentences: list[str]) -> np.ndarray:
        """Sentence vectors, cached: the same chunks come back for many questions."""
        found = {s: self._cache.get(s) for s in sentences}  # a local view: safe beside other threads
        todo = [s for s, vec in found.items() if vec is None]
        if todo:
            mat = np.asarray(self.searcher.embedder.embed_documents(todo), dtype=np.float32)
            found.update(zip(todo, mat, strict=False))
            if len(self._cache) + len(todo) > SENTENCE_CACHE:
                self._cache = {}
            self._cache.update(zip(todo, mat, strict=False))
        return np.stack([cast(np.ndarray, found[s]) for s in sentences])  # every one is filled now

    # -- the answers ----------------------------------------------------------------------------------
    def not_found(self, hits: Sequence[Hit], confidence: float) -> Answer:
        closest: list[dict[str, str]] = []
        for hit in hits:
            if all(c["page_id"] != hit.page_id for c in closest):
                closest.append({"page_id": hit.page_id, "title": hit.title, "url": hit.url})
            if len(closest) >= 3:
                break
        text = NOT_FOUND
        if closest:
            text += " Closest pages: " + "; ".join(f"{c['title']} ({c['url']})" for c in closest) + "."
        return Answer(text=text, hits=tuple(hits), confidence=confidence, not_found=True,
                      closest=tuple(closest), method="none")

    def extractive(self, question: str, hits: Sequence[Hit], qvec: np.ndarray, confidence: float,
                   warnings: tuple[str, ...] = ()) -> Answer:
        """The best few sentences of the top chunks, each cited."""
        top = list(hits[:CONTEXT_HITS])
        scored = self._sentences(top, qvec, question)
        if not scored:
            return self.not_found(hits, confidence)
        best = scored[0][0]
        chosen = [t for t in scored if t[0] >= best - SENTENCE_MARGIN][:MAX_SENTENCES]
        chosen.sort(key=lambda t: (t[1], t[2]))
        numbers: dict[int, int] = {}
        quotes: dict[int, list[str]] = {}
        parts: list[str] = []
        for _, i, _, sentence in chosen:
            n = numbers.setdefault(i, len(numbers) + 1)
            quotes.setdefault(i, []).append(sentence)
            parts.append(f"{sentence} [{n}]")
        citations = tuple(self._citation(n, top[i], " ".join(quotes[i])) for i, n in numbers.items())
        return Answer(text=" ".join(parts), citations=citations, hits=tuple(hits), confidence=confidence,
                      warnings=warnings, method="extractive")

    @staticmethod
    def _citation(number: int, hit: Hit, quote: str) -> Citation:
        if len(quote) > QUOTE_CHARS:
            quote = quote[:QUOTE_CHARS - 1].rstrip() + "…"
        return Citation(number=number, title=hit.title, url=hit.url, chunk_id=hit.chunk_id, quote=quote,
                        link=hit.link, updated_at=hit.updated_at)

    # -- the LLM path ---------------------------------------------------------------------------------
    def chat_model(self, warnings: list[str]) -> Any:
        """The injected chat model, else one from `[llm]` through `init_chat_model`, else None."""
        if self._llm is not None or self._llm_error is not None:
            if self._llm_error:
                warnings.append(self._llm_error)
            return self._llm
        conf = self.settings.llm
        if not (conf.provider or conf.model):
            return None
        try:
            from langchain.chat_models import init_chat_model

            kwargs: dict[str, Any] = {"temperature": conf.temperature}
            if conf.api_key.get_secret_value():
                kwargs["api_key"] = conf.api_key.get_secret_value()
            self._llm = init_chat_model(conf.model or None, model_provider=conf.provider or None, **kwargs)
        except Exception as exc:
            self._llm_error = (f"the LLM [{conf.provider}] {conf.model} cannot be used "
                               f"({type(exc).__name__}: {str(exc)[:200]}); answers are extractive")
            warnings.append(self._llm_error)
            return None
        return self._llm

    def _llm_answer(self, llm: Any, question: str, hits: Sequence[Hit], qvec: np.ndarray,
                    confidence: float, history: Sequence[Any] | None) -> Answer | None:
        messages, shown = build_messages(question, hits, self.settings.llm.max_context_tokens, history)
        reply = message_text(llm.invoke(messages))
        text, used = validate_citations(reply, len(shown))
        if not used:
            return None
        citations = []
        for new, old in enumerate(used, start=1):
            hit = shown[old - 1]
            scored = self._sentences([hit], qvec, question)
            citations.append(self._citation(new, hit, scored[0][3] if scored else hit.text))
        return Answer(text=text, citations=tuple(citations), hits=tuple(hits), confidence=confidence,
                      method="llm")


def build_messages(question: str, hits: Sequence[Hit], budget: int,
                   history: Sequence[Any] | None = None) -> tuple[list[Any], list[Hit]]:
    """Chat messages: the system prompt, recent history, then numbered sources and the question, all
    within `budget` tiktoken (cl100k) tokens. Returns the messages and the hits shown, in source order."""
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    from ingest.assets import encoding

    enc = encoding()

    def count(text: str) -> int:
        return len(enc.encode(text, disallowed_special=()))

    used = count(SYSTEM_PROMPT) + count(question) + 32
    sources: list[str] = []
    shown: list[Hit] = []
    for hit in hits:
        where = " › ".join(p for p in (hit.title, hit.heading_path) if p)
        block = f"[{len(shown) + 1}] {where}\n{hit.text}"
        cost = count(block)
        if used + cost > budget and shown:
            break
        if used + cost > budget:  # the first source alone is too big: cut it to fit
            block = enc.decode(enc.encode(block, disallowed_special=())[:max(budget - used, 64)])
            cost = count(block)
        sources.append(block)
        shown.append(hit)
        used += cost
    past: list[Any] = []
    for turn in reversed(list(history or [])[-6:]):
        role, content = (turn.get("role"), turn.get("content")) if isinstance(turn, dict) else turn
        cost = count(str(content))
        if used + cost > budget:
            break
        used += cost
        past.insert(0, AIMessage(str(content)) if role == "assistant" else HumanMessage(str(content)))
    prompt = "Sources:\n\n" + "\n\n".join(sources) + f"\n\nQuestion: {question}\nAnswer with [n] citations."
    return [SystemMessage(SYSTEM_PROMPT), *past, HumanMessage(prompt)], shown


def message_text(message: Any) -> str:
    """The text of a chat model's reply (a string, or content blocks)."""
    content = getattr(message, "content", message)
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


def validate_citations(text: str, sources: int) -> tuple[str, list[int]]:
    """Keep `[n]` markers with 1 <= n <= sources, drop the rest, renumber in order of first use.

    Returns the rewritten text and the kept source numbers in their new order (new number = index+1).
    """
    order: list[int] = []

    def rewrite(match: re.Match[str]) -> str:
        kept = []
        for part in match.group(1).split(","):
            n = int(part)
            if 1 <= n <= sources:
                if n not in order:
                    order.append(n)
                kept.append(f"[{order.index(n) + 1}]")
        return "".join(dict.fromkeys(kept))

    out = _CITE.sub(rewrite, text)
    out = re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", out)).strip()
    return out, order


def ask(question: str, settings: Settings | str | None = None, *,
        filters: Filters | dict[str, Any] | None = None, k: int | None = None,
        history: Sequence[Any] | None = None, llm: Any = None, embedder: Any = None,
        mode: str | None = None, principal: Any = None) -> Answer:
    """Python API: a cited answer to `question`. `settings` is Settings, a config path or None.
    `principal`: an email or account id (or a Principal): only pages they may view; None: all."""
    searcher = Searcher(as_settings(settings), embedder=embedder)
    try:
        return Answerer(searcher, llm=llm).ask(question, filters=filters, k=k, history=history, mode=mode,
                                               principal=principal)
    finally:
        searcher.close()
