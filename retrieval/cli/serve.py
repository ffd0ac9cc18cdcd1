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
    ) -> None:
        """Serve the HTTP API: /v1/ask, /v1/search, /v1/status, /v1/chat/completions, /healthz, /docs.

        API keys: KB_SERVER__API_KEYS (comma-separated); without one, loopback only (with a warning).
        """
        from retrieval.http.app import serve

        serve(state.settings(), host=host, port=port, log_level=log_level)
