"""`[embed] backend`: the setting's contract and the tolerance check, without loading a model."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.config import load_settings
from ingest.errors import ConfigError
from ingest.index.backends import TOLERANCE, check_tolerance, mean_cosine, refuse_early


def test_backend_defaults_to_auto_and_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().embed.backend == "auto"
    assert load_settings().embed.query_threads == 1
    monkeypatch.setenv("KB_EMBED__BACKEND", "torch")
    assert load_settings().embed.backend == "torch"
    with pytest.raises(ConfigError, match=r"embed\.backend") as err:
        load_settings(embed={"backend": "tensorrt"})
    assert "KB_EMBED__BACKEND" in err.value.guidance


def test_backends_not_in_this_build_are_refused_with_what_to_use() -> None:
    with pytest.raises(ConfigError, match="not available in this build") as err:
        refuse_early("onnx")
    assert "torch" in err.value.guidance and "auto" in err.value.guidance


def test_openvino_without_its_runtime_is_refused_and_auto_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest.index import backends, openvino_backend

    monkeypatch.setattr(openvino_backend, "available", lambda: False)
    with pytest.raises(ConfigError, match="needs the OpenVINO runtime") as err:
        refuse_early("openvino")
    assert "make setup" in err.value.guidance
    refuse_early("auto")
    reasons = dict(backends._candidates(object(), "/nowhere"))
    assert reasons["openvino"] == "the OpenVINO runtime is not installed"


def test_bf16_on_a_cpu_without_it_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest.index import backends

    monkeypatch.setattr(backends, "cpu_has_bf16", lambda: False)
    with pytest.raises(ConfigError, match="native bf16"):
        refuse_early("torch-bf16")
    refuse_early("torch")  # always runs
    refuse_early("auto")  # falls back to torch fp32


def test_the_tolerance_check_passes_near_vectors_and_refuses_far_ones() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(10, 384)).astype(np.float32)
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    near = ref + rng.normal(scale=1e-3, size=ref.shape).astype(np.float32)
    far = ref + rng.normal(scale=0.05, size=ref.shape).astype(np.float32)
    assert mean_cosine(ref, ref) == pytest.approx(1.0)
    assert check_tolerance("near", ref, near) >= TOLERANCE
    with pytest.raises(ConfigError, match="refused: its vectors differ"):
        check_tolerance("far", ref, far)
    assert mean_cosine(ref, ref[:5]) == 0.0  # a shape mismatch never passes
