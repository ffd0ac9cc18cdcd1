"""confluence-kb, the reading side: hybrid search, cited answers, the HTTP server, the `kb` CLI.

Python API: `from retrieval import search, ask, as_retriever`. Heavy libraries load on first use.

The README's module paths `retrieval.search` (Searcher, Filters, Hit) and `retrieval.answer`
(Answerer, Answer) are the modules `retrieval.query.searcher` and `retrieval.query.answer` under
their first names. They are registered in `sys.modules` as lazy modules (the standard library's
LazyLoader: nothing runs until a name is read), so `from retrieval.search import Searcher` works,
while `from retrieval import search` stays the `search()` function: importing a module that is
already registered never sets it as an attribute of its parent package.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType
from typing import Any

__all__ = ["as_retriever", "ask", "search"]

_ALIASES = {"retrieval.search": "retrieval.query.searcher", "retrieval.answer": "retrieval.query.answer"}


def _lazy_module(name: str) -> ModuleType:
    """`name` imported lazily (it executes on first attribute access), registered in sys.modules."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None, name
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


for _old, _new in _ALIASES.items():
    sys.modules.setdefault(_old, _lazy_module(_new))


_API = {"search": ("retrieval.query.searcher", "search"), "ask": ("retrieval.query.answer", "ask"),
        "as_retriever": ("retrieval.query.langchain_retriever", "as_retriever")}


def __getattr__(name: str) -> Any:
    """The Python API's functions, imported on first use; `retrieval.answer` is the module."""
    if name in _API:
        module, attr = _API[name]
        return getattr(importlib.import_module(module), attr)
    if name == "answer":  # `import retrieval.answer`, then `retrieval.answer.Answerer`
        return sys.modules["retrieval.answer"]
    raise AttributeError(f"module 'retrieval' has no attribute {name!r}")
