"""Lazy exports for package `__init__`s: `from ingest.storage import Ledger` imports only the module
that defines `Ledger`, on first use, so importing a package stays cheap (`kb --help` loads no numpy,
chromadb or torch) and a package's `__init__` never becomes an import cycle."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[list[str], Callable[[str], Any]]:
    """`__all__` and a module `__getattr__` for `package`: each name in `exports` comes from the
    module it maps to (relative to the package when it starts with a dot)."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module, package), name)

    return sorted(exports), __getattr__
