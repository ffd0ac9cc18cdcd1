"""The `kb` command: the root app (`root`) and every command module, imported explicitly.

Edges only: each command parses arguments, calls the library and formats the result.
"""

from __future__ import annotations

from retrieval.cli.root import STATE, State, app, main

__all__ = ["STATE", "State", "app", "main"]
