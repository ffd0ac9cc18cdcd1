"""`kb serve`: run the chatbot backend (retrieval/http/app.py) on uvicorn.

Only parses arguments; FastAPI and uvicorn are imported when the command runs, so `kb --help` stays fast.
"""

from __future__ import annotations

from typing import Any

import typer


def register(app: typer.Typer, state: Any) -> None:
    """Attach `kb serve` to the root app."""

    @app.command("serve")
    def serve_cmd(
        host: str = typer.Option(None, "--host",
                                 help="interface to bind (default: server.host in config, 127.0.0.1)"),
        port: int = typer.Option(None, "--port",
                                 help="port (default: server.port in config, 8000; 0 = any free one)"),
        log_level: str = typer.Option("info", "--log-level", help="uvicorn log level"),
        sync: bool = typer.Option(False, "--sync", help="also keep the knowledge base fresh: the `kb sync` "
                                  "loop on a thread of this process (polls every \\[sync] every; holds the "
                                  "writer lock; /v1/status shows it)"),
    ) -> None:
        """Serve the HTTP API: /v1/ask, /v1/search, /v1/status, /v1/chat/completions, /healthz, /docs.

        API keys: KB_SERVER__API_KEYS (comma-separated); without one, loopback only (with a warning).

        --sync: one process serves and stays fresh (searches answer while a poll writes, then see it).
        """
        from retrieval.http.app import serve

        if sync:
            _sync_logs()
        serve(state.settings(), host=host, port=port, log_level=log_level, sync=sync)


def _sync_logs() -> None:
    """The sync loop's one line a poll, on stderr beside uvicorn's log."""
    import logging
    import sys

    logger = logging.getLogger("kb.sync")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
