"""The bundled model on each backend: same vectors within tolerance, order kept, same gate, the
choice "auto" records and later loads reuse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingest.config import load_settings
from ingest.index import backends, openvino_backend
from ingest.index.embed import load_embedder
from ingest.index.gate import collection_gate

needs_bf16 = pytest.mark.skipif(not backends.cpu_has_bf16(), reason="this CPU has no native bf16")
TEXTS = ["short", "a much longer text about rotating the billing service's API keys " * 12,
         "How do I rotate the API keys?", "medium length text on the Berlin holiday calendar " * 3, "x y"]


def _embedder(tmp_path: Path, backend: str) -> Any:
    return load_embedder(load_settings(data={"dir": str(tmp_path / "kb")}, embed={"backend": backend}))


@pytest.fixture(scope="module")
def fp32(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _embedder(tmp_path_factory.mktemp("fp32"), "torch")


@needs_bf16
def test_bf16_matches_fp32_keeps_order_and_the_gate(fp32: Any, tmp_path: Path) -> None:
    bf16 = _embedder(tmp_path, "torch-bf16")
    assert bf16.backend == "torch-bf16" and fp32.backend == "torch"
    ref, got = fp32.embed_documents(TEXTS), bf16.embed_documents(TEXTS)
    assert got.dtype == np.float32 and np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert backends.mean_cosine(ref, got) >= backends.TOLERANCE
    # the batch is length-sorted inside; each row still belongs to its own text
    alone = np.stack([bf16.embed_query(t) for t in TEXTS])
    assert np.all(np.sum(alone * got, axis=1) > 0.999)
    settings = load_settings(data={"dir": str(tmp_path / "kb")})
    assert collection_gate(settings, bf16) == collection_gate(settings, fp32)  # no reindex for bf16


needs_openvino = pytest.mark.skipif(not openvino_backend.available(),
                                    reason="the OpenVINO runtime is not installed")


@needs_openvino
def test_openvino_matches_fp32_keeps_order_and_the_gate(fp32: Any, tmp_path: Path) -> None:
    ov = _embedder(tmp_path, "openvino")
    assert ov.backend == "openvino"
    ref, got = fp32.embed_documents(TEXTS), ov.embed_documents(TEXTS)
    assert got.dtype == np.float32 and got.shape == ref.shape
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert backends.mean_cosine(ref, got) >= backends.TOLERANCE
    alone = np.stack([ov.embed_query(t) for t in TEXTS])  # one thread, its own compiled model
    assert np.all(np.sum(alone * got, axis=1) > 0.999)
    assert ov.embed_documents([]).shape == (0, fp32.dimensions)
    settings = load_settings(data={"dir": str(tmp_path / "kb")})
    assert collection_gate(settings, ov) == collection_gate(settings, fp32)  # no reindex for openvino


@needs_openvino
def test_the_openvino_model_is_converted_once_and_reused(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest.assets import model_path

    model_dir = str(model_path())
    first = openvino_backend.prepare(model_dir, tmp_path / "assets")
    assert first is not None and first.is_file() and first.parent.parent == tmp_path / "assets"
    assert not [p for p in (tmp_path / "assets").iterdir() if p.name.endswith(".tmp")]  # nothing half-made
    monkeypatch.setattr(openvino_backend, "export", lambda *a: pytest.fail("converted again"))
    assert openvino_backend.prepare(model_dir, tmp_path / "assets") == first


@needs_openvino
def test_an_unwritable_assets_dir_is_a_clear_error(fp32: Any, tmp_path: Path) -> None:
    from ingest.assets import model_path
    from ingest.errors import ConfigError

    blocked = tmp_path / "assets"
    blocked.write_text("a file where the assets dir should be")
    with pytest.raises(ConfigError, match="could not write the OpenVINO model") as err:
        openvino_backend.load(fp32._model, str(model_path()), blocked)
    assert "KB_ASSETS_DIR" in err.value.guidance


def test_fp32_batch_order_is_restored(fp32: Any) -> None:
    batch = fp32.embed_documents(TEXTS)
    alone = np.stack([fp32.embed_documents([t])[0] for t in TEXTS])
    assert np.allclose(batch, alone, atol=1e-5)
    assert fp32.embed_query(TEXTS[1]) @ batch[1] > 0.9999 > fp32.embed_query(TEXTS[1]) @ batch[0]


def test_auto_measures_once_records_and_reuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "_record_path", lambda key: tmp_path / "embed-backend.json")
    calls: list[str] = []
    real = backends.measure

    def counted(model: Any, model_dir: str) -> dict[str, Any]:
        calls.append(model_dir)
        return real(model, model_dir)

    monkeypatch.setattr(backends, "measure", counted)
    first = _embedder(tmp_path, "auto")
    record = backends.read_record(calls[0])
    assert record is not None and record["backend"] == first.backend
    assert first.backend in ("torch", "torch-bf16", "openvino")
    assert set(record["candidates"]) == {"torch-bf16", "openvino"}
    if not backends.cpu_has_bf16():
        assert first.backend == "torch" and "refused" in record["candidates"]["torch-bf16"]
    second = _embedder(tmp_path, "auto")
    assert len(calls) == 1 and second.backend == first.backend  # reused, not measured again
    monkeypatch.setattr(backends, "cpu_has_bf16", lambda: False)  # another CPU: the key differs
    assert backends.read_record(calls[0]) is None


def test_unbuilt_backend_is_refused_before_the_model_loads(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest.errors import ConfigError

    monkeypatch.setattr(backends, "select", lambda *a: pytest.fail("the model should not load"))
    with pytest.raises(ConfigError, match="'onnx' is not available in this build"):
        _embedder(tmp_path, "onnx")


def test_a_query_uses_query_threads_and_a_batch_every_core(fp32: Any) -> None:
    import torch

    assert fp32.query_threads == 1 and fp32.batch_threads >= 1
    fp32.embed_query("one short query")
    assert torch.get_num_threads() == 1
    fp32.embed_documents(["a batch", "of two"])
    assert torch.get_num_threads() == fp32.batch_threads
    again = load_embedder(load_settings(embed={"backend": "torch"}))  # after a query set 1
    assert again.batch_threads == fp32.batch_threads
