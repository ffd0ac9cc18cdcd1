"""What a failed poll means for the loop, and how long it waits before the next one.

- `retry`: Confluence is down, slow, answering 5xx, resetting, refusing connections, or anything
  unexpected: wait `every`, then 2x, 4x ... up to `[sync] max_backoff`; a success resets it.
- `slow`: a failure a retry will not fix by itself, but a person may fix outside this process without
  restarting it (credentials refused with 401/403, a TLS or scheme mismatch, a mass delete refused):
  loud in the log and the status file, retried every `max_backoff`. Such a failure at the FIRST poll
  ends the process instead (exit code of the error): whoever just started it sees the mistake at once,
  as `kb ingest` would show it.
- `fatal`: this process cannot go on: a setting is invalid (ConfigError), the index was built
  differently (IndexMismatch: `kb reindex` needs the writer lock this process holds), another writer
  holds the lock (Busy). The loop exits with the error's exit code.
"""

from __future__ import annotations

from ingest.errors import Busy, ConfigError, IndexMismatch, KBError, MassDeleteRefused, SourceError

FATAL = (ConfigError, IndexMismatch, Busy)
SLOW_KINDS = frozenset({"tls", "scheme"})  # transport kinds no retry fixes (ingest/pull/_airbyte/hopeless)


def classify(exc: BaseException) -> str:
    """'retry', 'slow' or 'fatal' for the error a poll ended with (see the module docstring)."""
    if isinstance(exc, FATAL):
        return "fatal"
    if isinstance(exc, MassDeleteRefused):
        return "slow"
    if isinstance(exc, SourceError):
        endpoint = str(exc.context.get("endpoint", ""))
        refused = any(f"-> {code}" in endpoint for code in ("401", "403"))  # "GET /path -> 401"
        if exc.context.get("kind") in SLOW_KINDS or refused:
            return "slow"
    return "retry"


def wait_after(failures: int, kind: str, every: float, max_backoff: float) -> float:
    """Seconds until the next poll after `failures` consecutive failures (0: after a success)."""
    cap = max(max_backoff, every)
    if failures <= 0:
        return every
    if kind == "slow":
        return cap
    return float(min(every * 2 ** min(failures - 1, 30), cap))


def describe(exc: BaseException) -> dict[str, str]:
    """The error as the status file keeps it: message, guidance, kind (no traceback, no secret)."""
    if isinstance(exc, KBError):
        return {"error": exc.message, "guidance": exc.guidance, "type": type(exc).__name__,
                "kind": str(exc.context.get("kind", ""))}
    return {"error": f"{type(exc).__name__}: {exc}"[:500], "guidance": "unexpected: see the log",
            "type": type(exc).__name__, "kind": ""}
