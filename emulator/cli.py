"""`kb emulator`: start the local Confluence Cloud emulator."""

from __future__ import annotations

from typing import Any

import typer


def register(app: typer.Typer, state: Any) -> None:
    @app.command("emulator")
    def emulator_cmd() -> None:
        """Run a local Confluence Cloud (REST v1) emulator (not built yet)."""
        raise typer.Exit(1)
