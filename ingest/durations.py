"""Durations in settings: "60s", "5m", "24h", "7d" (or a bare number of seconds)."""

from __future__ import annotations

import re
from typing import Any

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: Any) -> float:
    """A duration in seconds: a number (seconds) or text such as "90s", "5m", "24h", "7d"."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"a duration cannot be negative: {value}")
        return float(value)
    match = _DURATION.fullmatch(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration; write e.g. \"60s\", \"5m\", \"24h\" or \"7d\"")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
