"""Version-checked speed-ups of PyAirbyte and airbyte-cdk internals.

Measured costs of PyAirbyte 0.71 / CDK 7.39 that do no work for us:
- the CDK parses its 300 KB component schema (YAML) each time a declarative source is built,
  three times per read (~0.4 s each); it is constant and only read: parsed once;
- it also resolves, type-propagates and schema-validates the manifest on every build (about a
  third of a no-change pull): the result depends on the manifest alone, so it is kept per
  manifest and each build gets its own copy.
And one fix: the CDK's Jinja interpolation turns every rendered request parameter back into a value
with `ast.literal_eval`, on each stream's thread; CPython 3.11's AST conversion keeps its recursion
depth per interpreter, so two threads parsing at once can fail a read with "SystemError: AST
constructor recursion depth mismatch" (seen in `make test` once the pull read seven streams at
once). Those calls are serialised under one lock (each parses a short string).
PyAirbyte builds the CDK's source itself, so these have no subclass hook: they replace attributes
of the CDK's module and class, once per process. (The plain JSONL batch files go through our own
cache subclass instead: `cache.py`.)

Each speed-up first checks the installed version against `TESTED` (the versions pinned in
pyproject.toml and requirements.lock) and that the attribute it replaces exists. On a mismatch it
is skipped with one warning naming the version: the pull still works, only slower. A test fails
when the pins move without `TESTED` (and so these patches) being re-checked.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import threading
import warnings
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import Any

TESTED = {"airbyte": "0.71.3", "airbyte-cdk": "7.39.1"}

_LOCK = threading.Lock()
_APPLIED: dict[str, tuple[Any, str, Any]] = {}  # patch name -> (owner, attribute, original)
_WARNED: set[str] = set()
_MANIFEST_MEMO: dict[str, Any] = {}
_VALIDATED: set[str] = set()


class SpeedUpSkipped(RuntimeWarning):
    """A speed-up was not applied: the installed version is not the one it was checked on."""


def installed_version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def fits(package: str, what: str, has_hook: Callable[[], bool]) -> bool:
    """True when `package` is the tested version and `has_hook()` holds; otherwise one warning
    per package (naming the version) and False."""
    found, wanted = installed_version(package), TESTED[package]
    reason = ""
    if found != wanted:
        reason = f"{package} {found} is installed, the speed-ups were checked on {wanted}"
    elif not has_hook():
        reason = f"{package} {found} lacks what {what!r} replaces"
    if not reason:
        return True
    with _LOCK:
        if package in _WARNED:
            return False
        _WARNED.add(package)
    warnings.warn(f"confluence-kb: skipping speed-ups of {package} internals ({reason}); pulls work, "
                  "only slower. Re-check ingest/pull/_airbyte/patches.py and update TESTED.",
                  SpeedUpSkipped, stacklevel=2)
    return False


def targets() -> dict[str, tuple[Any, str, Callable[[Any], Any]]]:
    """Each speed-up by name: (the CDK module or class it changes, the attribute, its wrapper)."""
    from airbyte_cdk.sources.declarative import concurrent_declarative_source as cds
    from airbyte_cdk.sources.declarative.interpolation import jinja

    source_class = cds.ConcurrentDeclarativeSource
    return {"component schema parsed once": (cds, "get_declarative_component_schema", functools.cache),
            "manifest resolved once": (source_class, "_pre_process_manifest", _memo_pre_process),
            "manifest validated once": (source_class, "_validate_source", _memo_validate),
            "literal_eval serialised": (jinja.JinjaInterpolation, "_literal_eval", _serialised)}


def apply() -> list[str]:
    """Apply the speed-ups that fit the installed CDK (once per process); the names applied."""
    with _LOCK:
        if _APPLIED:
            return sorted(_APPLIED)
    wanted = targets()
    if not fits("airbyte-cdk", "manifest memo",
                lambda: all(callable(getattr(owner, name, None)) for owner, name, _ in wanted.values())):
        return []
    with _LOCK:
        if not _APPLIED:
            for label, (owner, name, wrap) in wanted.items():
                original = getattr(owner, name)
                setattr(owner, name, wrap(original))
                _APPLIED[label] = (owner, name, original)
        return sorted(_APPLIED)


def revert() -> None:
    """Put every replaced attribute back and forget the warnings (for tests)."""
    with _LOCK:
        for owner, name, original in _APPLIED.values():
            setattr(owner, name, original)
        _APPLIED.clear()
        _WARNED.clear()
        _MANIFEST_MEMO.clear()
        _VALIDATED.clear()


_AST_LOCK = threading.Lock()


def _serialised(original: Any) -> Any:
    def literal_eval(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _AST_LOCK:
            return original(self, *args, **kwargs)

    return literal_eval


def _manifest_key(manifest: Mapping[str, Any]) -> str:
    text = json.dumps(manifest, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _memo_pre_process(original: Any) -> Any:
    def pre_process(self: Any, manifest: dict[str, Any]) -> dict[str, Any]:
        key = _manifest_key(manifest)
        with _LOCK:
            done = _MANIFEST_MEMO.get(key)
        if done is None:
            done = original(self, copy.deepcopy(manifest))
            with _LOCK:
                _MANIFEST_MEMO[key] = copy.deepcopy(done)
        else:
            done = copy.deepcopy(done)
        self._kb_manifest_key = key
        return done

    return pre_process


def _memo_validate(original: Any) -> Any:
    def validate(self: Any) -> None:
        key = getattr(self, "_kb_manifest_key", None)
        if key is not None and key in _VALIDATED:
            return
        original(self)
        if key is not None:
            with _LOCK:
                _VALIDATED.add(key)

    return validate
