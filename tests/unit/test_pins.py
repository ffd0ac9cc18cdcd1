"""The pins cannot move without the Airbyte patches being re-checked.

ingest/pull/_airbyte/patches.py replaces internals of PyAirbyte and airbyte-cdk that were checked
on the versions in its `TESTED`. Those versions must be the ones pyproject.toml pins, the ones
requirements.lock pins, and the ones installed; and the installed tree must be the locked one
(what `pip install -c requirements.lock` gives). Read from the files only: no import of airbyte or
of the project's code.
"""

from __future__ import annotations

import ast
import re
import tomllib
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[2]
PATCHES = ROOT / "ingest/pull/_airbyte/patches.py"
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements.lock"
PINNED = ("airbyte", "airbyte-cdk")

RECHECK = (
    "re-check ingest/pull/_airbyte/patches.py against {name} {version} (each speed-up's hook), "
    "then set TESTED[{name!r}] = {version!r} there, pin {name}=={version} in pyproject.toml "
    "and run `make lock`"
)


def either_way(name: str, tested: str, other: str, where: str) -> str:
    """What to do when TESTED says `tested` and `where` says `other`: whichever of the two moved."""
    return (
        f"{where} has {name} {other}, TESTED in ingest/pull/_airbyte/patches.py says {tested}. "
        f"To move to {other}: {RECHECK.format(name=name, version=other)}. "
        f"To stay on {tested}: pin {name}=={tested} in pyproject.toml and run `make lock`"
    )


def normalize(name: str) -> str:
    """PEP 503."""
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def patches_tested() -> dict[str, str]:
    """`TESTED` of patches.py, by parsing the file (not importing it)."""
    module = ast.parse(PATCHES.read_text(encoding="utf-8"), str(PATCHES))
    for node in module.body:
        if isinstance(node, ast.Assign):
            targets, expr = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, expr = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == "TESTED" for t in targets):
            value = ast.literal_eval(expr)
            assert isinstance(value, dict), f"{PATCHES}: TESTED must be a dict literal of name -> version"
            return {normalize(k): v for k, v in value.items()}
    raise AssertionError(f"{PATCHES} has no top-level `TESTED = {{...}}`: the pins below cannot be checked")


@cache
def pyproject_requirements() -> list[Requirement]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    lines = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        lines.extend(extra)
    return [Requirement(line) for line in lines]


@cache
def lock() -> dict[str, str]:
    """requirements.lock as normalized name -> version; every line must be an exact `name==version`."""
    pins: dict[str, str] = {}
    for number, raw in enumerate(LOCK.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;=]+)", line)
        assert match, (
            f"requirements.lock:{number}: {raw!r} is not an exact `name==version` pin; "
            "the lock is generated: run `make lock` instead of editing it"
        )
        name = normalize(match[1])
        assert name not in pins, f"requirements.lock:{number}: {match[1]} is pinned twice; run `make lock`"
        pins[name] = match[2]
    return pins


@cache
def installed() -> dict[str, str]:
    """Normalized name -> version of each distribution importable here (the first on sys.path wins)."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(normalize(name), dist.version)
    return found


def checked_version(name: str) -> str:
    version = patches_tested().get(name)
    assert version, f"TESTED in ingest/pull/_airbyte/patches.py has no {name!r}: add the version checked on"
    return version


def test_tested_names_the_pinned_packages() -> None:
    assert sorted(patches_tested()) == sorted(PINNED), (
        f"TESTED in ingest/pull/_airbyte/patches.py is {patches_tested()}; it must name exactly {PINNED} "
        "(the packages whose internals the patches replace); update it and this test together"
    )


@pytest.mark.parametrize("name", PINNED)
def test_pyproject_pins_the_checked_version(name: str) -> None:
    version = checked_version(name)
    found = [req for req in pyproject_requirements() if normalize(req.name) == name]
    assert len(found) == 1, (
        f"pyproject.toml must list {name} once, as {name}=={version} (found {[str(r) for r in found]})"
    )
    req = found[0]
    specs = list(req.specifier)
    exact = len(specs) == 1 and specs[0].operator == "==" and req.marker is None and not req.url
    assert exact, (
        f"pyproject.toml has {str(req)!r}, not an exact pin: pin {name}=={version} (the version the "
        f"patches were checked on); to move to another: {RECHECK.format(name=name, version='<it>')}"
    )
    assert specs[0].version == version, either_way(name, version, specs[0].version, "pyproject.toml")


@pytest.mark.parametrize("name", PINNED)
def test_lock_pins_the_checked_version(name: str) -> None:
    version = checked_version(name)
    locked = lock().get(name)
    assert locked is not None, (
        f"requirements.lock does not pin {name}: pin {name}=={version} in pyproject.toml and run `make lock`"
    )
    assert locked == version, either_way(name, version, locked, "requirements.lock")


@pytest.mark.parametrize("name", PINNED)
def test_installed_version_is_the_tested_one(name: str) -> None:
    # Exact string equality: patches.fits() compares metadata.version() with TESTED the same way.
    version = checked_version(name)
    found = installed().get(name)
    assert found is not None, f"{name} is not installed: run `make setup` (installs from requirements.lock)"
    assert found == version, (
        f"{name} {found} is installed, the patches were checked on {version} (their speed-ups are "
        f"skipped): run `make setup` to install the locked tree; to move to {found} instead, "
        + RECHECK.format(name=name, version=found)
    )


def test_installed_tree_is_the_locked_one() -> None:
    """Each lock line is what is installed: a `pip install -c requirements.lock` gives exactly it.

    PEP 440 `==` semantics, as pip applies the constraint: a pin with a local label
    (torch==2.13.0+cpu) must match exactly; one without matches any local build of that version."""
    have = installed()
    wrong = []
    for name, version in sorted(lock().items()):
        found = have.get(name)
        if found is None or not SpecifierSet(f"=={version}").contains(found, prereleases=True):
            wrong.append(f"{name}=={version} (installed: {found or 'nothing'})")
    assert not wrong, (
        f"{len(wrong)} of {len(lock())} locked packages differ from what is installed: "
        + "; ".join(wrong)
        + ". Run `make setup` to install requirements.lock; if the lock itself moved (`make lock`), "
        "re-check ingest/pull/_airbyte/patches.py against the airbyte and airbyte-cdk it pins first"
    )


def test_lock_covers_the_declared_requirements() -> None:
    """Every requirement of pyproject.toml (dependencies and extras) is in the lock and allows its pin:
    a dependency added or re-bounded without `make lock` fails here (under -c requirements.lock pip
    would install a new one unpinned, or refuse a bound the lock breaks)."""
    pins = lock()
    wrong = []
    for req in pyproject_requirements():
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        locked = pins.get(normalize(req.name))
        if locked is None or not req.specifier.contains(locked, prereleases=True):
            wrong.append(f"{req} (locked: {locked or 'nothing'})")
    assert not wrong, (
        "pyproject.toml asks for what requirements.lock does not give: "
        + "; ".join(wrong)
        + ". Run `make lock` (then `make setup`)"
    )
