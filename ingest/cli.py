"""Ingest-side commands of `kb`: pull, ingest, reindex, status, inspect.

Each command parses arguments, calls the library (`ingest.sync`, `ingest.pipeline`, ...) and
formats the result: `--json` on stdout for scripts, progress and warnings on stderr.
"""

from __future__ import annotations

import json
from typing import Any

import typer


def emit_json(obj: Any) -> None:
    """One JSON object on stdout."""
    typer.echo(json.dumps(obj, indent=None, sort_keys=False, default=str))


def register(app: typer.Typer, state: Any) -> None:
    """Attach the ingest commands to the root app. `state.settings()` loads Settings once."""

    # --- kb pull (issue: incremental pull) -------------------------------------------------------
    @app.command("pull")
    def pull_cmd(
        space: list[str] = typer.Option(None, "--space", "-s", help="only this space key (repeatable)"),
        full: bool = typer.Option(False, "--full", help="ignore the cursor and read everything"),
        dry_run: bool = typer.Option(False, "--dry-run", help="print the work list; change nothing"),
        as_json: bool = typer.Option(False, "--json", help="one JSON object on stdout"),
        source: str = typer.Option(None, "--source", help="manifest (ours, incremental) or stock"),
    ) -> None:
        """Pull pages and blog posts from Confluence into the cache and the ledger."""
        from ingest.errors import KBError

        raise KBError("kb pull is not built yet", "see the open issues")
