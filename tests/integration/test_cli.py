"""The `kb` edge: fast help that loads no heavy library, errors as one line with a hint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

HEAVY = ("torch", "chromadb", "sentence_transformers", "airbyte", "bs4", "fastapi")


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from retrieval.cli import main; main()", *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)


def test_help_imports_no_heavy_library() -> None:
    code = ("import sys; sys.argv=['kb','--help']\nfrom retrieval.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    for argv in (["kb", "--help"], ["kb", "emulator", "--help"]):
        out = subprocess.run([sys.executable, "-c", code.replace("['kb','--help']", repr(argv))],
                             capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout


def test_config_error_is_one_line_with_hint(tmp_path: Path) -> None:
    out = _run("--config", str(tmp_path / "missing.toml"), "pull")
    assert out.returncode != 0
    assert out.stderr.startswith("error: config file not found")
    assert "hint:" in out.stderr and "Traceback" not in out.stderr


def test_unknown_command_is_a_usage_error() -> None:
    out = _run("no-such-command")
    assert out.returncode == 2
    assert "No such command" in out.stderr
