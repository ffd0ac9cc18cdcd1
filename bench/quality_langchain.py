"""The LangChain tutorial pipeline of bench/quality.py, on the same pages and the same local model.

What the tutorials build for Confluence: ConfluenceLoader's text (BeautifulSoup `get_text(" ",
strip=True)` of the storage body; the title stays metadata), `RecursiveCharacterTextSplitter(
chunk_size=1000, chunk_overlap=200)`, `HuggingFaceEmbeddings` (sentence-transformers `encode` with its
defaults) and `Chroma.from_documents` (a collection with Chroma's default l2 space, queried with
`similarity_search(query, k)`). langchain-community (ConfluenceLoader, HuggingFaceEmbeddings, the
Chroma vector store) is sunset and not a dependency: the same steps are written here on
langchain-core's Document and langchain-text-splitters, with chromadb's PersistentClient on a tmp
dir. The model is the bundled all-MiniLM-L6-v2 (`ingest.assets.model_path()`), fp32, never a hub.
Scored with kb eval's own rules (retrieval.query.evaluate).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LCHit:
    """What kb eval's scoring reads of a hit."""

    page_id: str
    text: str


def loader_documents(items: Iterable[dict[str, Any]]) -> list[Any]:
    """ConfluenceLoader-style Documents: the storage body's text, the page id and title as metadata."""
    from bs4 import BeautifulSoup
    from langchain_core.documents import Document

    docs = []
    for item in items:
        if item.get("type", "page") not in ("page", "blogpost") or item.get("status") == "trashed":
            continue
        text = BeautifulSoup(item.get("body") or "", "lxml").get_text(" ", strip=True)
        docs.append(Document(page_content=text, metadata={"id": str(item["id"]),
                                                          "title": item.get("title", "")}))
    return docs


class TutorialPipeline:
    """Split, embed and store once (kept under `path`); `search(question, k)` -> [LCHit]."""

    def __init__(self, items: Iterable[dict[str, Any]], path: Path, reuse: bool = False) -> None:
        """`reuse`: keep the collection under `path` if there is one; it is also kept when it was
        built from the same pages (a stamp of their ids and bodies), as the pipeline never changes."""
        import hashlib
        import json

        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_text_splitters import RecursiveCharacterTextSplitter
        from sentence_transformers import SentenceTransformer

        from ingest.assets import model_path

        self.model = SentenceTransformer(str(model_path()), device="cpu")
        client = chromadb.PersistentClient(path=str(path),
                                           settings=ChromaSettings(anonymized_telemetry=False))
        existing = [c.name for c in client.list_collections()]
        items = list(items)
        stamp = hashlib.sha256(json.dumps([(i.get("id"), i.get("body")) for i in items]).encode()).hexdigest()
        stamp_path = path / "pages.sha256"
        same = stamp_path.is_file() and stamp_path.read_text(encoding="utf-8") == stamp
        if (reuse or same) and "langchain" in existing:
            self.collection = client.get_collection("langchain")
            self.chunks, self.embed_s = self.collection.count(), 0.0
            return
        if "langchain" in existing:
            client.delete_collection("langchain")
        self.collection = client.create_collection("langchain")  # Chroma's default: l2
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        chunks = splitter.split_documents(loader_documents(items))
        started = time.perf_counter()
        vectors = self.model.encode([d.page_content for d in chunks], batch_size=32)
        self.embed_s = time.perf_counter() - started
        for start in range(0, len(chunks), 1000):
            part = chunks[start:start + 1000]
            self.collection.add(ids=[f"lc-{start + i}" for i in range(len(part))],
                                embeddings=np.asarray(vectors[start:start + len(part)]).tolist(),
                                documents=[d.page_content for d in part],
                                metadatas=[{"page_id": d.metadata["id"]} for d in part])
        self.chunks = len(chunks)
        stamp_path.write_text(stamp, encoding="utf-8")

    def search(self, question: str, k: int) -> list[LCHit]:
        vector = self.model.encode([question])[0]
        found = self.collection.query(query_embeddings=[np.asarray(vector).tolist()], n_results=k,
                                      include=["documents", "metadatas"])
        docs, metas = (found["documents"] or [[]])[0], (found["metadatas"] or [[]])[0]
        return [LCHit(str(m["page_id"]), d) for d, m in zip(docs, metas, strict=True)]


def evaluate_pipeline(pipeline: TutorialPipeline, qa_path: Path, k: int = 10,
                      limit: int | None = None) -> dict[str, Any]:
    """kb eval's figures for the tutorial pipeline (the same relevance rule, page nDCG@10 over the
    pages of its top 20 chunks, as kb eval reads 20 under a per-page cap of 2)."""
    from retrieval.query.evaluate import NDCG_AT, _report, first_relevant_rank, ndcg, read_qa

    ranks: list[int | None] = []
    ndcgs: list[float] = []
    latencies: list[float] = []
    for item in read_qa(qa_path):
        if limit is not None and len(ranks) >= limit:
            break
        started = time.perf_counter()
        hits = pipeline.search(item.question, max(k, 2 * NDCG_AT))
        latencies.append((time.perf_counter() - started) * 1000)
        ranks.append(first_relevant_rank(hits[:k], item))  # type: ignore[arg-type]
        ndcgs.append(ndcg([h.page_id for h in hits], item.gains()))
    return _report(ranks, None, latencies, "langchain", ndcgs=ndcgs).to_dict()
