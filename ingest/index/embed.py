"""Embedders: the `Embedder` protocol, the bundled all-MiniLM-L6-v2 and a deterministic fake.

This is the only module that imports sentence_transformers (lazily, inside `load_embedder`).
Vectors are float32 and L2-normalised, so cosine distance in Chroma is 1 - dot product.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ingest.config import Settings
from ingest.errors import ConfigError

BUNDLED_MODEL = "all-MiniLM-L6-v2"


@runtime_checkable
class Embedder(Protocol):
    """What the index and the searcher need from an embedding model."""

    model_id: str
    dimensions: int
    max_tokens: int

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for `text`, special tokens included."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """float32 array (len(texts), dimensions), rows L2-normalised."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """float32 array (dimensions,), L2-normalised."""
        ...


def _normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return (matrix / np.where(norms == 0, 1.0, norms)).astype(np.float32)


class SentenceTransformerEmbedder:
    """A sentence-transformers model on CPU (or the configured device), batched and normalised."""

    def __init__(self, model: Any, model_id: str, batch_size: int = 64, *, backend: str = "torch",
                 batch_threads: int = 0, query_threads: int = 0) -> None:
        self._model = model
        self._counter = _private_tokenizer(model.tokenizer)
        self.model_id = model_id  # the backend is not part of it: see ingest.index.backends
        self.backend = backend
        self.dimensions = int(model.get_embedding_dimension())
        self.max_tokens = int(model.max_seq_length)
        self.batch_size = batch_size
        self.batch_threads, self.query_threads = batch_threads, query_threads

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text, add_special_tokens=True).ids)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        set_threads(self.batch_threads)
        return self._encode(list(texts), self.batch_threads)

    def embed_query(self, text: str) -> np.ndarray:
        set_threads(self.query_threads)
        return self._encode([text], self.query_threads)[0]

    def _encode(self, texts: list[str], threads: int) -> np.ndarray:
        """sentence-transformers sorts each call's texts by length (less padding) and restores their
        order; the indexer hands it long batches (16 x batch_size) so the sort has room to work."""
        if self.backend == "torch":
            vectors = self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                         convert_to_numpy=True, show_progress_bar=False)
            return np.asarray(vectors, dtype=np.float32)
        from ingest.index.backends import encode

        return encode(self._model, texts, batch_size=self.batch_size, threads=threads)


def _private_tokenizer(hf_tokenizer: Any) -> Any:
    """A copy of the model's Rust tokenizer for counting, never truncating.

    The model's own tokenizer is not safe to share: each encode() call sets its truncation to the
    window, so a count on the prefetch thread during an encode would come back capped at 256.
    """
    from tokenizers import Tokenizer

    counter = Tokenizer.from_str(hf_tokenizer.backend_tokenizer.to_str())
    counter.no_truncation()
    counter.no_padding()
    return counter


def load_embedder(settings: Settings) -> Embedder:
    """The configured model, offline. Only the bundled all-MiniLM-L6-v2 (or a local model dir)."""
    name = settings.embed.model
    if name == BUNDLED_MODEL:
        from ingest.assets import model_path

        path = str(model_path())
    elif os.path.isdir(name):
        path = name
    else:
        raise ConfigError(f"embedding model {name!r} is not available offline",
                          f"set [embed] model = \"{BUNDLED_MODEL}\" or to a local sentence-transformers dir")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    _fixed_mmap_threshold()
    _quiet_loaders()
    from ingest.index.backends import refuse_early, select

    conf = settings.embed
    refuse_early(conf.backend)  # before the model loads: a refusal costs nothing
    import torch
    from sentence_transformers import SentenceTransformer

    batch_threads = conf.threads or _torch_default_threads(torch)  # 0: torch's default, every core
    set_threads(batch_threads)
    model = SentenceTransformer(path, device=conf.device, local_files_only=True)
    model, backend = select(conf.backend, model, path) if conf.device == "cpu" else (model, "torch")
    model_id = f"sentence-transformers/{name}" if name == BUNDLED_MODEL else name
    return SentenceTransformerEmbedder(model, model_id=model_id, batch_size=conf.batch_size, backend=backend,
                                       batch_threads=batch_threads,
                                       query_threads=conf.query_threads or batch_threads)


_DEFAULT_THREADS: list[int] = []


def _torch_default_threads(torch: Any) -> int:
    """torch's own thread count, as it was before any embedder here set it (a query sets 1)."""
    if not _DEFAULT_THREADS:
        _DEFAULT_THREADS.append(torch.get_num_threads())
    return _DEFAULT_THREADS[0]


def set_threads(threads: int) -> None:
    """torch's CPU threads for this process (0 leaves them as they are). A batch ([embed] threads)
    uses every core by default; one query ([embed] query_threads, default 1) uses one: on a busy
    2-core machine a query took a median of 184 ms with every core contending, 38 ms with one."""
    if threads > 0:
        import torch

        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def _fixed_mmap_threshold(threshold: int = 128 * 1024) -> None:
    """Keep torch's large activation buffers out of the heap (glibc, Linux).

    glibc raises its mmap threshold each time a big mmapped block is freed, so later forward passes
    allocate their buffers from the heap, which fragments: peak RSS grew ~130 MB per 2,500 chunks.
    A fixed threshold keeps them mmapped and returned to the system on free (measured: flat at
    ~870 MB instead of 1,150 MB and rising). MALLOC_MMAP_THRESHOLD_ in the environment wins.
    """
    if sys.platform != "linux" or os.environ.get("MALLOC_MMAP_THRESHOLD_"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-3, threshold)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        pass


def _quiet_loaders() -> None:
    """Keep transformers' weight-loading progress bars off the user's terminal."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except Exception:  # pragma: no cover - an older/newer transformers without these
        pass


_WORD = re.compile(r"\w+", re.UNICODE)


class FakeEmbedder:
    """Deterministic hashed bag of words, normalised: lexically similar texts are near.

    For plumbing tests: no model, no torch. count_tokens = whitespace words.
    """

    def __init__(self, dimensions: int = 64, model_id: str = "fake-hash-bow", max_tokens: int = 256) -> None:
        self.dimensions = dimensions
        self.model_id = f"{model_id}-{dimensions}"
        self.max_tokens = max_tokens
        self.calls = 0
        self.embedded = 0

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dimensions, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "little") % self.dimensions
            vec[bucket] += 1.0 if digest[4] & 1 else -1.0
        if not vec.any():
            vec[0] = 1.0
        return vec

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.embedded += len(texts)
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return _normalise(np.stack([self._vector(t) for t in texts]))

    def embed_query(self, text: str) -> np.ndarray:
        return _normalise(self._vector(text)[None, :])[0]
