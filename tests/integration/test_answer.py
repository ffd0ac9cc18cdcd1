"""Answers on the tiny index: extractive, not found, the LLM path with LangChain's fake chat models,
the LangChain retriever in a chain."""

from __future__ import annotations

import re

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableLambda

from ingest.index.embed import FakeEmbedder
from retrieval.query.answer import NOT_FOUND, Answerer, build_messages
from retrieval.query.searcher import Searcher

QUESTION = "How do I fix ERR-4012 when the registry token expired during a deploy?"
NONSENSE = "zxqv blorf plimpkin wubbly quorn"


@pytest.fixture
def searcher(tiny_kb):
    s = Searcher(tiny_kb, embedder=FakeEmbedder())
    yield s
    s.close()


def cited_numbers(text: str) -> set[int]:
    return {int(n) for group in re.findall(r"\[(\d+(?:,\s*\d+)*)\]", text) for n in group.split(",")}


def assert_citations_point_to_hits(answer):
    ids = {h.chunk_id for h in answer.hits}
    assert answer.citations
    assert all(c.chunk_id in ids for c in answer.citations)
    assert cited_numbers(answer.text) == {c.number for c in answer.citations}
    by_id = {h.chunk_id: h for h in answer.hits}
    for c in answer.citations:
        assert c.url == by_id[c.chunk_id].url and c.title == by_id[c.chunk_id].title


def test_extractive_answer_cites_hits(searcher):
    answer = Answerer(searcher).ask(QUESTION)
    assert not answer.not_found and answer.method == "extractive"
    assert_citations_point_to_hits(answer)
    assert "ERR-4012" in answer.text or "registry token" in answer.text
    assert answer.confidence >= searcher.settings.retrieval.min_score
    assert all(c.quote and c.quote in " ".join(h.text for h in answer.hits) for c in answer.citations)
    assert answer.to_dict()["citations"][0]["number"] == 1


def test_nonsense_question_is_not_found_with_closest_pages(searcher):
    answer = Answerer(searcher).ask(NONSENSE)
    assert answer.not_found and answer.citations == ()
    assert answer.text.startswith(NOT_FOUND)
    assert answer.confidence < searcher.settings.retrieval.min_score


def test_filters_reach_the_answer(searcher):
    answer = Answerer(searcher).ask("registry token expired errors gateway", filters={"kinds": ["blogpost"]})
    assert {h.page_id for h in answer.hits} == {"104"}


def test_llm_answer_with_good_citations(searcher):
    llm = GenericFakeChatModel(messages=iter([AIMessage("Renew the registry token with kb-token renew [1], "
                                                        "then retry the deploy [1][2].")]))
    answer = Answerer(searcher, llm=llm).ask(QUESTION)
    assert answer.method == "llm" and not answer.warnings
    assert_citations_point_to_hits(answer)
    assert answer.text.startswith("Renew the registry token")


def test_llm_invented_citations_are_dropped_and_renumbered(searcher):
    llm = FakeListChatModel(responses=["The token expired [3]. It was invented [42] and [0]. Also [1, 99]."])
    answer = Answerer(searcher, llm=llm).ask(QUESTION)
    assert answer.method == "llm"
    assert "[42]" not in answer.text and "[0]" not in answer.text and "99" not in answer.text
    assert cited_numbers(answer.text) == {1, 2}
    assert_citations_point_to_hits(answer)
    # [3] of the prompt became [1]: its chunk is the third hit shown
    assert answer.citations[0].chunk_id == answer.hits[2].chunk_id
    assert answer.citations[1].chunk_id == answer.hits[0].chunk_id


def test_llm_without_valid_citations_falls_back(searcher):
    llm = FakeListChatModel(responses=["I made this up [17]."])
    answer = Answerer(searcher, llm=llm).ask(QUESTION)
    assert answer.method == "extractive" and answer.warnings
    assert_citations_point_to_hits(answer)


def test_llm_failure_falls_back_with_a_warning(searcher):
    def boom(_messages):
        raise TimeoutError("provider timed out")

    answer = Answerer(searcher, llm=RunnableLambda(boom)).ask(QUESTION)
    assert answer.method == "extractive"
    assert any("TimeoutError" in w for w in answer.warnings)
    assert_citations_point_to_hits(answer)


def test_unknown_llm_provider_falls_back(searcher, tiny_kb):
    tiny_kb.llm.provider, tiny_kb.llm.model = "no-such-provider", "nothing-1"
    try:
        answer = Answerer(searcher).ask(QUESTION)
    finally:
        tiny_kb.llm.provider, tiny_kb.llm.model = "", ""
    assert answer.method == "extractive" and any("cannot be used" in w for w in answer.warnings)


def test_llm_is_not_asked_when_nothing_is_found(searcher):
    llm = FakeListChatModel(responses=["should not be used [1]"])
    answer = Answerer(searcher, llm=llm).ask(NONSENSE)
    assert answer.not_found and llm.i == 0


def test_prompt_fits_the_token_budget_and_keeps_history(searcher):
    from ingest.assets import encoding

    hits = searcher.search("gateway registry token deploy", k=6)
    enc = encoding()
    for budget in (150, 400, 3000):
        messages, shown = build_messages("why?", hits, budget, history=[
            ("user", "earlier q"), {"role": "assistant", "content": "a"}])
        total = sum(len(enc.encode(str(m.content))) for m in messages)
        assert total <= budget + 8 or len(shown) == 1
        assert 1 <= len(shown) <= len(hits)
        assert "[1]" in messages[-1].content and isinstance(messages[1], HumanMessage)
    small, _ = build_messages("why?", hits, 150)
    big, shown_big = build_messages("why?", hits, 3000)
    assert len(shown_big) == len(hits) and len(str(big[-1].content)) > len(str(small[-1].content))


def test_python_api_ask(tiny_kb):
    from retrieval import ask

    answer = ask(QUESTION, tiny_kb, embedder=FakeEmbedder())
    assert not answer.not_found
    assert_citations_point_to_hits(answer)


def test_retriever_in_a_chain(tiny_kb):
    from langchain_core.documents import Document

    from retrieval import as_retriever

    retriever = as_retriever(tiny_kb, k=3, embedder=FakeEmbedder())
    docs = retriever.invoke("holiday allowance days")
    assert docs and all(isinstance(d, Document) for d in docs)
    assert docs[0].metadata["page_id"] == "105" and docs[0].metadata["url"].endswith("/pages/105")
    assert {"chunk_id", "title", "heading_path", "space_key", "score", "ranks"} <= set(docs[0].metadata)

    def context(docs: list[Document]) -> str:
        return "\n".join(f"[{i}] {d.metadata['title']}: {d.page_content}" for i, d in enumerate(docs, 1))

    llm = FakeListChatModel(responses=["Twenty-five days [1]."])
    chain = {"context": retriever | RunnableLambda(context), "question": RunnableLambda(lambda q: q)} \
        | RunnableLambda(lambda x: f"{x['context']}\n\nQ: {x['question']}") | llm \
        | RunnableLambda(lambda m: m.content)
    assert chain.invoke("holiday allowance days") == "Twenty-five days [1]."
    filtered = as_retriever(tiny_kb, filters={"spaces": ["ENG"]}, embedder=FakeEmbedder())
    assert all(d.metadata["space_key"] == "ENG" for d in filtered.invoke("holiday gateway"))
