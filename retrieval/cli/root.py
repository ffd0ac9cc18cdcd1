"""The `kb` command: the root app. Edges only parse arguments and format output.

Every command module is imported here explicitly and adds its commands with `register(app, state)`:
`ingest_cmds` (pull, ingest, reindex, status, inspect), `query_cmds` (search, ask, eval), `access_cmds`
(access), `serve`, `sync_cmd`
(sync), `demo`, and the emulator's own `emulator.cli` (emulator).
Errors (`KBError`) are translated once, in `main()`: one line on stderr, a non-zero exit code;
a traceback too with `--debug` (printed by `main()` itself).
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from ingest.config import Settings

app = typer.Typer(
    name="kb",
    help="confluence-kb: a question-answering knowledge base over a Confluence site that stays fresh.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@dataclass
class State:
    config: str | None = None
    debug: bool = False
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self, **overrides: Any) -> Settings:
        from ingest.config import load_settings

        if overrides:
            return load_settings(self.config, **overrides)
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings


STATE = State()


@app.callback()
def root(
    config: str = typer.Option(None, "--config", "-c", envvar="KB_CONFIG",
                               help="config file (default: ./config.toml when present)"),
    debug: bool = typer.Option(False, "--debug", help="show tracebacks on errors"),
) -> None:
    """Pull Confluence into a knowledge base; search it; ask it questions with citations."""
    STATE.config = config
    STATE.debug = debug
    if config:
        from ingest.config import config_path

        config_path(config)  # a missing file is an error before any work starts


def _register() -> None:
    """Each command module adds its commands; a missing one is an ImportError, never a silent skip."""
    from emulator import cli as emulator_cmds
    from retrieval.cli import access_cmds, demo, ingest_cmds, query_cmds, serve, sync_cmd

    for module in (ingest_cmds, emulator_cmds, query_cmds, access_cmds, serve, sync_cmd, demo):
        module.register(app, STATE)


_register()


def main() -> None:
    """Console entry point: run the app, translate KBError once."""
    from ingest.errors import KBError

    try:
        rc = app(standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except KBError as err:
        if STATE.debug:  # printed here: a library may have replaced sys.excepthook (airbyte_cdk does)
            traceback.print_exc(file=sys.stderr)
        line = f"error: {err.message}"
        if err.guidance:
            line += f"\n  hint: {err.guidance}"
        typer.echo(line, err=True)
        sys.exit(err.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors (typer vendors click) and the unexpected
        code = getattr(exc, "exit_code", None)
        if hasattr(exc, "show") and isinstance(code, int):
            exc.show()
            sys.exit(code)
        if STATE.debug:
            traceback.print_exc(file=sys.stderr)
        typer.echo(f"error: unexpected {type(exc).__name__}: {exc}\n"
                   "  hint: rerun with --debug for a traceback", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
