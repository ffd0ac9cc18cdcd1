"""`kb sync`: keep the knowledge base fresh in one long-running process (ingest/sync/loop.py).

Only parses arguments, installs the signal handlers and prints one line a poll on stderr; the loop,
its backoff and its status file live in `ingest.sync`.
"""

from __future__ import annotations

from typing import Any

import typer

_HELP = """
Keep the knowledge base fresh: poll Confluence every \\[sync] every (default 60s) and index what changed,
in one long-running process that holds the writer lock (a `kb ingest` or `kb reindex` meanwhile is
refused, naming it; searches and `kb serve` keep working).
|Each poll is exactly `kb ingest`; the embedding model stays loaded between polls. After every poll the
loop writes <data dir>/sync.json, which `kb status` shows: is the loop alive, the last poll, its result
and error, the lag, the next poll.
|A failed poll (Confluence down, 5xx, timeouts) is retried after \\[sync] every, then twice that, up to
\\[sync] max_backoff; a success resets it. Credentials refused (401/403), a TLS or scheme mismatch and a
refused mass delete are retried every max_backoff, loudly; at the FIRST poll they end the process with
the error's exit code, as do invalid settings and an index built with other settings (run `kb reindex`).
|SIGTERM or Ctrl-C: stop after the batch in flight (exit 0), never mid-transaction; the next run redoes
the rest. A second signal exits at once.
|Settings: \\[sync] every and max_backoff, or KB_SYNC__EVERY=2s, KB_SYNC__MAX_BACKOFF=10m. To serve and
sync in one process: `kb serve --sync`."""
SYNC_HELP = " ".join(_HELP.split()).replace(" |", "\n\n")


def register(app: typer.Typer, state: Any) -> None:
    """Attach `kb sync` to the root app."""

    @app.command("sync", help=SYNC_HELP)
    def sync_cmd(
        space: list[str] = typer.Option(None, "--space", "-s", help="only this space key (repeatable; "
                                        "default: \\[confluence] spaces, else every space)"),
        every: str = typer.Option(None, "--every",
                                  help="poll period, e.g. 30s, 5m (default: \\[sync] every)"),
        once: bool = typer.Option(False, "--once", help="one poll, then exit (its status file is written "
                                  "too; exit code: the poll's error's, 0 when it succeeded)"),
    ) -> None:
        import logging

        from ingest.sync.loop import SyncLoop, install_signals

        settings = state.settings()
        if every is not None:
            settings = state.settings(sync={**settings.sync.model_dump(), "every": every})
        _log_to_stderr(logging.getLogger("kb.sync"))
        loop = SyncLoop(settings, spaces=space or None, mode="sync")
        typer.echo(f"kb sync: pid {loop.health.pid}, every {_dur(settings.sync.every)} (backoff up to "
                   f"{_dur(max(settings.sync.max_backoff, settings.sync.every))}), status in "
                   f"{settings.data_dir / 'sync.json'}; Ctrl-C or SIGTERM stops after the batch in flight",
                   err=True)
        restore = install_signals(loop, lambda line: typer.echo(f"kb sync: {line}", err=True))
        try:
            code = loop.run(once=once)
        finally:
            restore()
        typer.echo(f"kb sync: stopped after {loop.health.polls} polls ({loop.health.polls_failed} failed)",
                   err=True)
        if code:
            raise typer.Exit(code)


def _dur(seconds: float) -> str:
    from ingest.durations import format_duration

    return format_duration(seconds)


def _log_to_stderr(logger: Any) -> None:
    """One line a poll on stderr (the loop logs through `kb.sync`)."""
    import logging
    import sys

    if not any(getattr(h, "_kb_sync", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        handler._kb_sync = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
