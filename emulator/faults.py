"""Fault switches and the request log of the emulator.

A fault applies to requests whose path (without the query) matches its pattern: a glob when the
pattern has `*`, `?` or `[` (e.g. "/wiki/rest/api/content*"), otherwise a substring. It fires
`times` times and is then gone, or on a `fraction` of matching requests (seeded, so repeatable),
or (neither given) on every matching request until cleared. With `after`, the first `after`
matching requests pass untouched (a site that fails part-way through a read). Kinds:

- "429": Too Many Requests with `Retry-After: retry_after` (default 1 second)
- "500", "503": a server error in Confluence's error shape
- "403": Forbidden in Confluence's error shape (e.g. space permissions the account may not read)
- "slow": answer normally after `delay` seconds (default 1.0)
- "truncate": the headers promise the whole body, half of it comes, then the connection closes
- "reset": the connection is reset (TCP RST) before any answer
"""

from __future__ import annotations

import fnmatch
import random
import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

KINDS = ("429", "500", "503", "403", "slow", "truncate", "reset")
_ALIASES = {"rate_limit": "429", "ratelimit": "429", "truncated": "truncate", "slow_response": "slow",
            "connection_reset": "reset", "error": "500", "unavailable": "503"}


@dataclass
class Fault:
    id: int
    pattern: str
    kind: str
    times: int | None = None
    fraction: float | None = None
    retry_after: int | None = None
    delay: float | None = None
    fired: int = 0
    after: int = 0
    passed: int = 0

    def matches(self, path: str) -> bool:
        if any(ch in self.pattern for ch in "*?["):
            return fnmatch.fnmatchcase(path, self.pattern)
        return self.pattern in path

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def normalise_kind(kind: str | int) -> str:
    name = _ALIASES.get(str(kind).lower(), str(kind).lower())
    if name not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
    return name


class Faults:
    """The active faults; `pick(path)` says which fires for this request (or None)."""

    def __init__(self, seed: int = 0) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._next = 1

    def add(self, pattern: str, kind: str | int, *, times: int | None = None,
            fraction: float | None = None, retry_after: int | None = None,
            delay: float | None = None, after: int = 0) -> Fault:
        if fraction is not None and not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        if times is not None and times < 0:
            raise ValueError("times must be >= 0")
        if after < 0:
            raise ValueError("after must be >= 0")
        with self._lock:
            fault = Fault(self._next, pattern, normalise_kind(kind), times, fraction, retry_after, delay,
                          after=after)
            self._next += 1
            self._faults.append(fault)
            return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_dict() for f in self._faults]

    def pick(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if not fault.matches(path):
                    continue
                if fault.passed < fault.after:
                    fault.passed += 1
                    continue
                if fault.times is not None:
                    if fault.fired >= fault.times:
                        continue
                elif fault.fraction is not None and self._rng.random() >= fault.fraction:
                    continue
                fault.fired += 1
                return fault
            self._faults = [f for f in self._faults if f.times is None or f.fired < f.times]
            return None


class RequestLog:
    """What clients asked (admin calls excluded): method, path, query, status, time, bytes."""

    def __init__(self, maxlen: int = 100_000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries.append(entry)

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
