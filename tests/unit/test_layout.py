"""The house rules of the layout, checked over the source tree (no imports of the project's code):
Airbyte behind one door, SQL on the ledger only in storage, import direction, no cycles, small modules."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ingest", "retrieval", "emulator")
TREES = (*PACKAGES, "bench", "tools", "tests")
AIRBYTE_DOOR = "ingest/pull/_airbyte/"
STORAGE = "ingest/storage/"
# tools/stock_flow.py is the stock connector's flow exactly as a PyAirbyte user writes it (the README
# points at it): importing airbyte is its purpose.
AIRBYTE_EXEMPT = {"tools/stock_flow.py"}
# DuckDB SQL on PyAirbyte's own cache (not the ledger), behind the Airbyte door.
SQL_EXEMPT = {"ingest/pull/_airbyte/cache.py"}
MAX_LINES = 400


def sources(*trees: str) -> Iterator[tuple[str, ast.Module]]:
    for tree in trees:
        for path in sorted((ROOT / tree).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            yield rel, ast.parse(path.read_text(encoding="utf-8"), rel)


def imported(module: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of every import, at module level or inside functions."""
    for node in ast.walk(module):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def module_name(rel: str) -> str:
    name = rel[:-3].replace("/", ".")
    return name[: -len(".__init__")] if name.endswith(".__init__") else name


def test_nothing_outside_the_airbyte_door_imports_airbyte() -> None:
    found = [f"{rel}:{line} imports {name}" for rel, tree in sources(*TREES)
             if not rel.startswith(AIRBYTE_DOOR) and rel not in AIRBYTE_EXEMPT
             for line, name in imported(tree) if name.split(".")[0] in ("airbyte", "airbyte_cdk")]
    assert not found, "import airbyte only inside ingest/pull/_airbyte/:\n" + "\n".join(found)


def _runs_sql(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for line, name in imported(tree):
        if name.split(".")[0] == "sqlite3":
            yield line, "imports sqlite3"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("execute", "executemany", "executescript"):
            yield node.lineno, f"calls .{node.attr}()"
        if isinstance(node, ast.Attribute) and node.attr == "conn":
            yield node.lineno, "reaches for a ledger's .conn"


def test_nothing_outside_storage_runs_sql_on_the_ledger() -> None:
    """Product code, benchmarks and tools: every SQL statement on the ledger lives in ingest/storage/.
    (Tests may read the ledger with SQL to check what the product wrote.)"""
    found = [f"{rel}:{line} {what}" for rel, tree in sources(*PACKAGES, "bench", "tools")
             if not rel.startswith(STORAGE) and rel not in SQL_EXEMPT
             for line, what in _runs_sql(tree)]
    assert not found, \
        "move these into ingest/storage/ (a Ledger or LedgerChunks method):\n" + "\n".join(found)


def test_import_direction() -> None:
    """retrieval imports ingest, never the reverse; emulator imports neither."""
    rules = {"ingest": ("retrieval", "emulator", "tools", "bench", "tests"),
             "emulator": ("ingest", "retrieval", "tools", "bench", "tests"),
             "retrieval": ("tools", "bench", "tests")}
    found = [f"{rel}:{line} imports {name}" for rel, tree in sources(*PACKAGES)
             for line, name in imported(tree) if name.split(".")[0] in rules[rel.split("/")[0]]]
    assert not found, "\n".join(found)


def _graph() -> dict[str, set[str]]:
    """module -> the project modules it imports. `from a.b import c` is an edge to a.b.c when c is a
    module (a.b is then only its parent package, initialised anyway), else to a.b."""
    known = {module_name(rel) for rel, _ in sources(*PACKAGES)}
    graph: dict[str, set[str]] = {}
    for rel, tree in sources(*PACKAGES):
        edges = graph.setdefault(module_name(rel), set())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                subs = [f"{node.module}.{alias.name}" for alias in node.names]
                names = [n for n in subs if n in known]
                if len(names) < len(subs):
                    names.append(node.module)
            else:
                continue
            for name in names:
                while name and name not in known:
                    name = name.rpartition(".")[0]
                if name and name != module_name(rel):
                    edges.add(name)
    return graph


def test_no_import_cycle() -> None:
    """No cycle among the project's modules, counting imports inside functions too. A package
    imported for one of its modules (`from ingest.storage import Ledger`) is an edge to the package."""
    graph, state, cycles = _graph(), {}, []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_module_over_400_lines() -> None:
    long = [f"{rel}: {n} lines" for tree in TREES for path in sorted((ROOT / tree).rglob("*.py"))
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
            for rel in [path.relative_to(ROOT).as_posix()]]
    assert not long, f"split these modules (at most {MAX_LINES} lines):\n" + "\n".join(long)


def test_every_package_exports_its_public_names() -> None:
    """Each package's __init__ says what it is for (a docstring) and names its exports (`__all__`)."""
    missing = [rel for rel, tree in sources("ingest", "retrieval") if rel.endswith("__init__.py")
               and not (ast.get_docstring(tree) and "__all__" in ast.unparse(tree))]
    assert not missing, "\n".join(missing)
