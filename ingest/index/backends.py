"""Embedding backends: which numeric path runs the same model, and the choice `"auto"` makes.

`[embed] backend` (KB_EMBED__BACKEND):
  - "torch": the model in float32, as sentence-transformers loads it (the reference);
  - "torch-bf16": the same weights cast to bfloat16, on a CPU with native bf16 (AVX512-BF16 or AMX);
    measured here 1.8-2.2x torch fp32 on 1,000 chunks, mean cosine 0.99995 to fp32;
  - "openvino": the same model converted to OpenVINO IR locally (`ingest.index.openvino_backend`), run by
    OpenVINO's CPU plugin (bf16 inside on a CPU that has it); measured here 2.3-3.1x torch fp32 on 400
    SQuAD paragraphs, mean cosine 0.99998 to fp32;
  - "onnx": not in this build (refused with a message that says what to use instead);
  - "auto" (the default): the fastest of those that pass, measured once on this CPU and recorded
    in `<assets dir>/embed-backend-<hash>.json`, so later processes (ingest, `kb serve`) reuse the choice.

Every candidate is checked against torch fp32 on fixed texts: mean cosine >= TOLERANCE, or it is
refused. A backend that passes gives the same vectors for retrieval's purposes, so the collection's
model identity (the gate) does not name it: an existing index is not forced into a reindex.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ingest.errors import ConfigError
from ingest.index import openvino_backend as ovb

BACKENDS = ("auto", "torch", "torch-bf16", "openvino", "onnx")
TOLERANCE = 0.999
RECORD_NAME = "embed-backend.json"
RECORD_VERSION = 2  # 2: openvino is a candidate
# A faster candidate must beat fp32 by this factor to be chosen: below it, timing noise on a busy
# machine would decide, and fp32 is the reference.
MIN_SPEEDUP = 1.15

CHECK_TEXTS = (
    "How do I rotate the API keys for the billing service?",
    "Rotating API keys: open the vault, create a new key, deploy, then revoke the old one.",
    "The cafeteria menu for Friday: soup, bread, and a vegetarian curry.",
    "Kafka consumer lag alert fires when the queue grows faster than the workers drain it.",
    "def retry(fn, attempts=3):\n    for i in range(attempts):\n        try: return fn()\n"
    "        except TimeoutError: time.sleep(2 ** i)",
    "Onboarding checklist > Week one > Accounts: request VPN access, a laptop, and the wiki login.",
    "Incident 2024-03-12: the gateway returned 502 for eleven minutes after a certificate expired.",
    "Holiday calendar for the Berlin office, including the bridge days in May.",
    "x",
    "Release notes 4.2 — the export now keeps attachments; large spaces page their results; "
    "the search box accepts quoted phrases and the minus sign excludes a word. " * 4,
)


def cpu_has_bf16() -> bool:
    """Native bfloat16 matrix maths on this CPU (AVX512-BF16 or AMX-BF16) and oneDNN in torch."""
    import torch

    if not torch.backends.mkldnn.is_available():
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:  # not Linux: stay on fp32
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def mean_cosine(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Mean cosine of matching rows (both row-normalised)."""
    ref = np.asarray(reference, dtype=np.float64)
    cand = np.asarray(candidate, dtype=np.float64)
    if ref.shape != cand.shape:
        return 0.0
    ref = ref / np.maximum(np.linalg.norm(ref, axis=1, keepdims=True), 1e-12)
    cand = cand / np.maximum(np.linalg.norm(cand, axis=1, keepdims=True), 1e-12)
    return float(np.mean(np.sum(ref * cand, axis=1)))


def check_tolerance(name: str, reference: np.ndarray, candidate: np.ndarray) -> float:
    """The candidate's mean cosine to fp32; a ConfigError when it is below TOLERANCE."""
    cosine = mean_cosine(reference, candidate)
    if cosine < TOLERANCE:
        raise ConfigError(f"embedding backend {name!r} is refused: its vectors differ from torch fp32 "
                          f"(mean cosine {cosine:.5f} < {TOLERANCE})",
                          'set [embed] backend = "torch" (KB_EMBED__BACKEND=torch)')
    return cosine


def refuse_early(name: str) -> None:
    """Refuse, before the model loads, a backend this build or this CPU cannot run."""
    if name not in BACKENDS:
        raise ConfigError(f"unknown embedding backend {name!r}", f"use one of {', '.join(BACKENDS)}")
    if name == "onnx":
        raise ConfigError(f"embedding backend {name!r} is not available in this build (its runtime is "
                          "not a dependency)", 'use [embed] backend = "openvino", "torch" or "auto" '
                          "(KB_EMBED__BACKEND)")
    if name == "openvino" and not ovb.available():
        raise ConfigError("embedding backend 'openvino' needs the OpenVINO runtime, which is not installed",
                          'run `make setup`, or use [embed] backend = "torch" or "auto" (KB_EMBED__BACKEND)')
    if name == "torch-bf16" and not cpu_has_bf16():
        raise ConfigError("embedding backend 'torch-bf16' needs a CPU with native bf16 (AVX512-BF16 or "
                          "AMX), which this one lacks", 'use [embed] backend = "torch" or "auto"')


def encode(model: Any, texts: list[str], batch_size: int = 32, threads: int = 0) -> np.ndarray:
    """Row-normalised float32 vectors (normalised in float32, whatever the model's dtype). `threads`
    is for OpenVINO (0: its default, every core); torch's are set by the caller (`set_threads`)."""
    import torch

    if isinstance(model, ovb.OpenVINOModel):
        return model.encode_normalised(texts, batch_size=batch_size, threads=threads)

    with torch.inference_mode():
        out = model.encode(texts, batch_size=batch_size, normalize_embeddings=False,
                           convert_to_tensor=True, show_progress_bar=False)
    matrix = out.float().cpu().numpy()
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def bf16_copy(model: Any) -> Any:
    """A bfloat16 copy of the model; the fp32 one is left as it was."""
    return copy.deepcopy(model).bfloat16()


def _assets() -> Path:
    from ingest.assets import assets_dir

    return assets_dir()


def _record_path(key: dict[str, Any]) -> Path:
    """One file per model dir, torch and CPU: checkouts sharing the assets dir keep their own."""
    import hashlib

    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return _assets() / RECORD_NAME.replace(".json", f"-{digest}.json")


def _record_key(model_dir: str) -> dict[str, Any]:
    import torch

    weights = sorted(Path(model_dir).glob("*.safetensors")) + sorted(Path(model_dir).glob("*.bin"))
    size = sum(p.stat().st_size for p in weights)
    return {"version": RECORD_VERSION, "model_dir": str(Path(model_dir).resolve()), "weights_bytes": size,
            "torch": torch.__version__, "bf16_cpu": cpu_has_bf16(), "openvino": ovb.version()}


def read_record(model_dir: str) -> dict[str, Any] | None:
    """The recorded choice for this model, torch and CPU; None when absent or for another setup."""
    key = _record_key(model_dir)
    try:
        record = json.loads(_record_path(key).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("key") != key:
        return None
    return record if record.get("backend") in ("torch", "torch-bf16", "openvino") else None


def _write_record(record: dict[str, Any]) -> None:
    path = _record_path(record["key"])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        os.replace(tmp, path)
    except OSError:  # a read-only assets dir: measure again next time, nothing lost
        pass


def _seconds(model: Any, texts: list[str], rounds: int = 2) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        encode(model, texts)
        best = min(best, time.perf_counter() - started)
    return best


def _candidates(model: Any, model_dir: str) -> list[tuple[str, Any]]:
    """(name, a function making the candidate, or the reason it cannot run here) for "auto"."""
    bf16: Any = (lambda: bf16_copy(model)) if cpu_has_bf16() else "no native bf16 on this CPU"
    ov: Any = (lambda: ovb.load(model, model_dir, _assets())) if ovb.available() else \
        "the OpenVINO runtime is not installed"
    return [("torch-bf16", bf16), ("openvino", ov)]


def measure(model: Any, model_dir: str) -> dict[str, Any]:
    """Check and time each candidate on this CPU against torch fp32; the fastest that passes and beats
    fp32 by MIN_SPEEDUP is the choice. The record of it is also written to disk."""
    reference = encode(model, list(CHECK_TEXTS))
    record: dict[str, Any] = {"key": _record_key(model_dir), "backend": "torch", "candidates": {}}
    texts = [t * 3 for t in CHECK_TEXTS] * 2  # 20 texts, ~60-250 tokens: an ingest's shape
    fp32_s: float | None = None
    best = MIN_SPEEDUP
    for name, make in _candidates(model, model_dir):
        if isinstance(make, str):
            record["candidates"][name] = {"refused": make}
            continue
        try:
            candidate = make()
            cosine = mean_cosine(reference, encode(candidate, list(CHECK_TEXTS)))
        except Exception as exc:  # a conversion or runtime failure: that candidate is out, not the ingest
            record["candidates"][name] = {"refused": f"{type(exc).__name__}: {exc}"[:300]}
            continue
        entry: dict[str, Any] = {"mean_cosine": round(cosine, 6)}
        if cosine >= TOLERANCE:
            encode(candidate, texts[:8])  # warm the kernels before timing
            fp32_s = fp32_s or _seconds(model, texts)
            speedup = fp32_s / _seconds(candidate, texts)
            entry["speedup"] = round(speedup, 2)
            if speedup >= best:
                best, record["backend"] = speedup, name
        else:
            entry["refused"] = f"mean cosine below {TOLERANCE}"
        record["candidates"][name] = entry
        del candidate
    record["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    _write_record(record)
    return record


def select(name: str, model: Any, model_dir: str) -> tuple[Any, str]:
    """The model to encode with and the backend's name, for `[embed] backend = name`."""
    refuse_early(name)
    if name == "auto":
        record = read_record(model_dir) or measure(model, model_dir)
        if record["backend"] == "torch-bf16":
            return model.bfloat16(), "torch-bf16"  # in place: the fp32 weights are not kept
        if record["backend"] == "openvino":
            try:
                return ovb.load(model, model_dir, _assets()), "openvino"
            except Exception as exc:  # measured fine, fails now: fp32 (slower, the same vectors)
                print(f"warning: embedding backend 'openvino' failed to load ({type(exc).__name__}: {exc}); "
                      "using torch fp32", file=sys.stderr)
        return model, "torch"
    if name in ("openvino", "torch-bf16"):
        candidate = ovb.load(model, model_dir, _assets()) if name == "openvino" else bf16_copy(model)
        check_tolerance(name, encode(model, list(CHECK_TEXTS)), encode(candidate, list(CHECK_TEXTS)))
        return candidate, name
    return model, "torch"
