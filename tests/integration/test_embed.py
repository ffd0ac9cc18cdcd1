"""Embedders: the fake's plumbing properties and the bundled model's real behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.config import load_settings
from ingest.index.embed import Embedder, FakeEmbedder, load_embedder


def test_fake_is_deterministic_normalised_and_lexical() -> None:
    fake = FakeEmbedder(dimensions=64)
    docs = ["deploy the billing service to production", "deploy billing service production",
            "holiday calendar for the Berlin office"]
    a, b = fake.embed_documents(docs), FakeEmbedder(dimensions=64).embed_documents(docs)
    assert a.dtype == np.float32 and a.shape == (3, 64)
    assert np.array_equal(a, b)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-6)
    assert a[0] @ a[1] > a[0] @ a[2]
    assert np.allclose(fake.embed_query(docs[0]), a[0])
    assert fake.count_tokens("three little words") == 3 and fake.max_tokens == 256
    assert isinstance(fake, Embedder)
    assert fake.embed_documents([]).shape == (0, 64)


def test_fake_handles_text_without_words() -> None:
    vec = FakeEmbedder(dimensions=8).embed_query("--- !!! ---")
    assert np.isclose(np.linalg.norm(vec), 1.0)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    # torch fp32: the exact-value checks below are fp32's (the bf16 backend: test_embed_backends.py)
    return load_embedder(load_settings(data={"dir": str(tmp_path_factory.mktemp("kb"))},
                                       embed={"backend": "torch"}))


def test_bundled_model_offline(model: Embedder) -> None:
    assert model.dimensions == 384 and model.max_tokens == 256
    assert model.model_id.endswith("all-MiniLM-L6-v2")
    vecs = model.embed_documents(["How do I rotate the API keys?", "Rotating API keys: steps",
                                  "The cafeteria menu for Friday"])
    assert vecs.dtype == np.float32 and vecs.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.2
    assert np.allclose(model.embed_query("How do I rotate the API keys?"), vecs[0], atol=1e-5)
    # [CLS] hello world [SEP]: the window counts special tokens, and long text is not truncated here
    assert model.count_tokens("hello world") == 4
    assert model.count_tokens("word " * 600) > 600


def test_unknown_model_is_a_config_error(tmp_path) -> None:
    from ingest.errors import ConfigError

    with pytest.raises(ConfigError, match="not available offline"):
        load_embedder(load_settings(data={"dir": str(tmp_path)}, embed={"model": "no-such/model"}))


def test_count_tokens_is_exact_while_the_model_encodes(model: Embedder) -> None:
    """The index counts on its prefetch thread while the main thread embeds; encode() sets the
    shared tokenizer's truncation, so counting must use a tokenizer of its own."""
    import threading

    done, counts = threading.Event(), []

    def count() -> None:
        while not done.is_set():
            counts.append(model.count_tokens("word " * 600))

    thread = threading.Thread(target=count)
    thread.start()
    try:
        model.embed_documents(["some text " * 100] * 128)
    finally:
        done.set()
        thread.join()
    assert counts and set(counts) == {602}


def test_threads_setting_sets_torchs_threads_and_zero_leaves_them() -> None:
    import torch

    from ingest.index.embed import set_threads

    before = torch.get_num_threads()
    try:
        set_threads(0)
        assert torch.get_num_threads() == before
        set_threads(1)
        assert torch.get_num_threads() == 1
        assert load_settings(embed={"threads": 1}).embed.threads == 1
    finally:
        torch.set_num_threads(before)
