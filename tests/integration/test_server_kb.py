"""`kb serve` on a real knowledge base: the real engine (Searcher + Answerer, ledger + Chroma) behind the
HTTP layer, over the tiny hand-written KB (FakeEmbedder, no model), on uvicorn with httpx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.config import load_settings
from ingest.index.embed import FakeEmbedder
from retrieval.http.app import create_app, running_server
from retrieval.http.engine import KBEngine
from tests.helpers import AUTH, KEY, build_tiny_kb, error_body, sse_events


def _serve_settings(data_dir: Path, **server: Any) -> Any:
    return load_settings(data={"dir": str(data_dir)},
                         server={"api_keys": KEY, "rate_limit_per_minute": 10_000, **server})


@pytest.fixture(scope="module")
def kb_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("serve") / "kb"
    build_tiny_kb(data_dir)
    settings = _serve_settings(data_dir)
    engine = KBEngine.open(settings, embedder=FakeEmbedder())
    try:
        with running_server(create_app(settings, engine=engine)) as url:
            yield url
    finally:
        engine.close()


def _ask(url: str, **body: Any) -> dict[str, Any]:
    resp = httpx.post(f"{url}/v1/ask", headers=AUTH, json=body, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_search_and_status_on_the_real_index(kb_url: str) -> None:
    resp = httpx.post(f"{kb_url}/v1/search", headers=AUTH, json={"query": "ERR-4012 registry token", "k": 3})
    hits = resp.json()["hits"]
    assert hits[0]["chunk_id"] == "101:1" and hits[0]["title"] == "Deploying the gateway"
    assert set(hits[0]["ranks"]) == {"dense", "lexical"}
    only_ops = {"query": "gateway errors", "filters": {"spaces": ["OPS"]}}
    hits = httpx.post(f"{kb_url}/v1/search", headers=AUTH, json=only_ops).json()["hits"]
    assert hits and {h["space_key"] for h in hits} == {"OPS"}
    lexical = {"query": "max_retry_after", "mode": "lexical"}
    assert httpx.post(f"{kb_url}/v1/search", headers=AUTH, json=lexical).json()["hits"][0]["page_id"] == "102"
    status = httpx.get(f"{kb_url}/v1/status", headers=AUTH).json()
    assert status["ready"] is True and status["pages"] == 5 and status["chunks"] == 10
    assert sorted(status["spaces"]) == ["ENG", "HR", "OPS"] and status["vectors"] == 10
    assert status["active_collection"] and status["model"] == FakeEmbedder().model_id


def test_answer_cites_its_hits_and_streams_the_same_text(kb_url: str) -> None:
    question = "How do I fix ERR-4012 when the registry token expired during a deploy?"
    plain = _ask(kb_url, question=question)
    assert not plain["not_found"] and plain["citations"]
    hit_ids = {h["chunk_id"] for h in plain["hits"]}
    assert all(c["chunk_id"] in hit_ids for c in plain["citations"])
    assert "101:1" in {c["chunk_id"] for c in plain["citations"]}
    resp = httpx.post(f"{kb_url}/v1/ask", headers=AUTH, json={"question": question, "stream": True},
                      timeout=30)
    events = sse_events(resp.text)
    data = [json.loads(d) for _, d in events]
    assert "".join(d["text"] for name_d, d in zip(events, data, strict=True) if name_d[0] == "delta") \
        == plain["text"]
    assert data[-2]["citations"] == plain["citations"]


def test_follow_up_reaches_the_page_only_through_history(kb_url: str) -> None:
    follow_up = "How is that resolved?"
    alone = _ask(kb_url, question=follow_up)
    assert "101:1" not in {h["chunk_id"] for h in alone["hits"]}
    first = "What happens when the registry token expired during a deploy?"
    history = [{"role": "user", "content": first}, {"role": "assistant", "content": "Error ERR-4012 [1]."}]
    answer = _ask(kb_url, question=follow_up, history=history)
    assert answer["query"] == f"{first} {follow_up}" and not answer["not_found"]
    assert answer["hits"][0]["chunk_id"] == "101:1"
    assert "101:1" in {c["chunk_id"] for c in answer["citations"]}


def test_server_started_before_the_first_ingest_serves_once_it_exists(tmp_path: Path) -> None:
    data_dir = tmp_path / "kb"
    settings = _serve_settings(data_dir)
    engine = KBEngine.open(settings, embedder=FakeEmbedder())
    with running_server(create_app(settings, engine=engine)) as url:
        early = httpx.post(f"{url}/v1/search", headers=AUTH, json={"query": "holiday"})
        assert "kb ingest" in error_body(early, 503)["guidance"]
        assert httpx.get(f"{url}/v1/status", headers=AUTH).json()["ready"] is False
        build_tiny_kb(data_dir)
        later = httpx.post(f"{url}/v1/search", headers=AUTH, json={"query": "holiday allowance"})
        assert later.status_code == 200 and later.json()["hits"][0]["page_id"] == "105"
    engine.close()


def test_follow_up_is_rewritten_by_the_llm_when_one_is_configured(tmp_path: Path) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    data_dir = tmp_path / "kb"
    build_tiny_kb(data_dir)
    settings = _serve_settings(data_dir)
    rewritten = "How do I renew the registry token after error ERR-4012?"
    llm = FakeListChatModel(responses=[rewritten, "Renew it with kb-token renew [1]."])
    engine = KBEngine.open(settings, embedder=FakeEmbedder(), llm=llm)
    with running_server(create_app(settings, engine=engine)) as url:
        answer = _ask(url, question="And what fixes that?",
                      history=[{"role": "user", "content": "What does ERR-4012 mean?"}])
    engine.close()
    assert answer["query"] == rewritten
    assert answer["hits"][0]["chunk_id"] == "101:1"



@pytest.mark.slow
def test_lifespan_loads_the_model_and_reports_an_index_built_otherwise(tmp_path: Path) -> None:
    """create_app(settings) alone: the lifespan loads the bundled model and opens the stores; the tiny
    KB was built with FakeEmbedder, so the version gate says to reindex — as JSON, not a traceback."""
    data_dir = tmp_path / "kb"
    build_tiny_kb(data_dir)
    with running_server(create_app(_serve_settings(data_dir))) as url:
        health = httpx.get(f"{url}/healthz")
        assert health.status_code == 503 and "kb reindex" in health.json()["guidance"]
        body = error_body(httpx.post(f"{url}/v1/search", headers=AUTH, json={"query": "holiday"}), 409)
        assert "built differently" in body["error"] and "kb reindex" in body["guidance"]
