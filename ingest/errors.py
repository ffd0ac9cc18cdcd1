"""Structured errors: one family, translated once per edge (CLI, HTTP server).

Every error names the thing that went wrong (`message`) and says what to do (`guidance`).
`context` holds small, non-secret facts (an endpoint, a page id) for logs and `--json` output.
"""

from __future__ import annotations

from typing import Any


class KBError(Exception):
    """Base of every error confluence-kb raises on purpose."""

    exit_code: int = 1
    http_status: int = 500

    def __init__(self, message: str, guidance: str = "", context: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.guidance = guidance
        self.context = dict(context or {})

    def __str__(self) -> str:
        return f"{self.message} — {self.guidance}" if self.guidance else self.message

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.message, "guidance": self.guidance,
                **({"context": self.context} if self.context else {})}


class ConfigError(KBError):
    """A setting is missing or invalid."""

    exit_code = 2
    http_status = 500


class SourceError(KBError):
    """Confluence (or the emulator) could not be read."""

    exit_code = 3
    http_status = 502


class MassDeleteRefused(KBError):
    """A run would delete more than the configured fraction of the index."""

    exit_code = 4
    http_status = 409


class IndexMismatch(KBError):
    """The index was built with another model, chunker or schema."""

    exit_code = 5
    http_status = 409


class CleanError(KBError):
    """A page could not be cleaned; the run reports it and goes on."""

    exit_code = 1
    http_status = 422


class NotReady(KBError):
    """The knowledge base is empty or not built yet."""

    exit_code = 6
    http_status = 503


class Busy(KBError):
    """Another process is writing the same knowledge base (a pull, ingest or reindex)."""

    exit_code = 7
    http_status = 409


class Stopped(KBError):
    """A stop was asked for (SIGTERM, SIGINT, a server shutting down): raised between batches, after
    the batch in flight committed, so nothing is left half-written; the next run redoes the rest."""

    exit_code = 0
    http_status = 503
