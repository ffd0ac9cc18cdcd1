"""The "openvino" embedding backend: the same model, run by OpenVINO's CPU plugin.

The bundled model's transformer is converted to OpenVINO IR here, offline, from the loaded weights
(`ov.convert_model` traces the torch module; nothing comes from a hub), once per model, torch and
OpenVINO version, and saved under `<assets dir>/openvino-<hash>/` (`python -m ingest.assets` does it at
set-up; a load that finds none converts it then, ~2 s). Tokenisation is the sentence-transformers
model's own (`preprocess`: the same truncation at its window), and the pooling is its mean over the
attention mask, so only the transformer's arithmetic moves to OpenVINO.

On a CPU with native bf16 the plugin runs bf16 by default (measured here, 400 SQuAD paragraphs: 82
paragraphs/s against 27-36 for torch fp32 and 58 for torch-bf16; mean cosine to fp32 0.99998).
`ingest.index.backends` checks it against torch fp32 like every candidate, and refuses it below the
tolerance.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ingest.errors import ConfigError


def available() -> bool:
    """Whether the OpenVINO runtime is installed (a dependency; a trimmed install may lack it)."""
    return importlib.util.find_spec("openvino") is not None


def version() -> str | None:
    """The installed OpenVINO's version, read from its package metadata (no import: ~0.4 s); None
    without the runtime."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("openvino")
    except PackageNotFoundError:
        return None


def ir_dir(model_dir: str, root: Path) -> Path:
    """Where this model's IR lives under `root` (the assets dir): one folder per model dir, weights,
    torch and OpenVINO version."""
    from importlib.metadata import version as package_version

    weights = sorted(Path(model_dir).glob("*.safetensors")) + sorted(Path(model_dir).glob("*.bin"))
    key = {"model_dir": str(Path(model_dir).resolve()),
           "weights_bytes": sum(p.stat().st_size for p in weights),
           "torch": package_version("torch"), "openvino": version()}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return root / f"openvino-{digest}"


def export(model: Any, model_dir: str, root: Path) -> Path:
    """The model's IR (`model.xml`), converted now unless it already exists. Written to a temporary
    folder and renamed into place, so a crash mid-way leaves nothing half-written."""
    target = ir_dir(model_dir, root)
    xml = target / "model.xml"
    if xml.is_file():
        return xml
    _check_shape(model)
    import openvino as ov
    import torch

    example = {k: v for k, v in model.preprocess(["an example", "a longer example text"]).items()
               if isinstance(v, torch.Tensor)}
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on python branches it fixes for these shapes
        converted = ov.convert_model(model[0].auto_model, example_input=example)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    ov.save_model(converted, str(tmp / "model.xml"), compress_to_fp16=False)
    try:
        os.replace(tmp, target)
    except OSError:  # another process put one there first: theirs is the same model
        shutil.rmtree(tmp, ignore_errors=True)
    return xml


def _check_shape(model: Any) -> None:
    """Only a transformer + mean pooling (+ normalise) model is converted: the pooling is redone here."""
    names = [type(m).__name__ for m in model]
    pooling = model[1].get_config_dict().get("pooling_mode") if len(names) > 1 else None
    if names[:2] != ["Transformer", "Pooling"] or pooling != "mean" or len(names) > 3:
        raise ConfigError(f"embedding backend 'openvino' supports a transformer with mean pooling; this "
                          f"model is {' + '.join(names)} ({pooling} pooling)",
                          'use [embed] backend = "torch" or "auto" (KB_EMBED__BACKEND)')


class OpenVINOModel:
    """The sentence-transformers model's tokeniser and shape, OpenVINO's arithmetic. One compiled model
    per thread count (a query's few threads, a batch's every core), each with one infer request used
    under its lock (a request is not safe to share between threads)."""

    def __init__(self, model: Any, xml: Path) -> None:
        import openvino as ov

        self._st = model
        self.tokenizer = model.tokenizer
        self.max_seq_length = model.max_seq_length
        self._core = ov.Core()
        self._ir = self._core.read_model(str(xml))
        self._inputs = [i.get_any_name() for i in self._ir.inputs]
        self._compiled: dict[int, tuple[Any, threading.Lock]] = {}
        self._guard = threading.Lock()

    def get_embedding_dimension(self) -> int:
        return int(self._st.get_embedding_dimension())

    def _request(self, threads: int) -> tuple[Any, threading.Lock]:
        with self._guard:
            if threads not in self._compiled:
                config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1}
                if threads > 0:
                    config["INFERENCE_NUM_THREADS"] = threads
                compiled = self._core.compile_model(self._ir, "CPU", config)
                self._compiled[threads] = (compiled.create_infer_request(), threading.Lock())
            return self._compiled[threads]

    def encode_normalised(self, texts: list[str], batch_size: int = 32, threads: int = 0) -> np.ndarray:
        """Row-normalised float32 vectors, in the texts' order (batches sorted by length inside)."""
        import torch

        out = np.zeros((len(texts), self.get_embedding_dimension()), dtype=np.float32)
        if not texts:
            return out
        order = np.argsort([-len(t) for t in texts], kind="stable")
        request, lock = self._request(threads)
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            features = self._st.preprocess([texts[i] for i in rows])
            feed = {n: features[n].numpy() for n in self._inputs if isinstance(features.get(n), torch.Tensor)}
            with lock:
                hidden = np.asarray(request.infer(feed)[0], dtype=np.float32)
            mask = feed["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[rows] = pooled / np.where(norms == 0, 1.0, norms)
        return out


def prepare(model_dir: str, root: Path) -> Path | None:
    """`python -m ingest.assets`: the bundled model's IR, converted now if missing (None without the
    runtime). Costs a stat when it exists; a conversion loads the model (~5 s)."""
    if not available():
        return None
    xml = ir_dir(model_dir, root) / "model.xml"
    if xml.is_file():
        return xml
    from sentence_transformers import SentenceTransformer

    return export(SentenceTransformer(model_dir, device="cpu", local_files_only=True), model_dir, root)


def load(model: Any, model_dir: str, root: Path) -> OpenVINOModel:
    """The model on OpenVINO (its IR converted first when missing)."""
    if not available():
        raise ConfigError("embedding backend 'openvino' needs the OpenVINO runtime, which is not installed",
                          'run `make setup`, or use [embed] backend = "torch" or "auto" (KB_EMBED__BACKEND)')
    try:
        xml = export(model, model_dir, root)
    except OSError as exc:
        raise ConfigError(f"could not write the OpenVINO model under {root}: {exc}",
                          "set KB_ASSETS_DIR to a writable folder and run `python -m ingest.assets`, or use "
                          '[embed] backend = "torch" or "auto" (KB_EMBED__BACKEND)') from exc
    return OpenVINOModel(model, xml)
