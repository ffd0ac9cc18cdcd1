"""Durations in settings: "60s", "5m", "24h", "1h30m", "1.5d" or a number of seconds.

Part of the settings kernel (imports nothing of the project); `ingest.config` re-exports `Duration`
and `parse_duration`, so a setting reads `every: Duration = 60.0` and holds seconds as a float.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)", re.IGNORECASE)


def parse_duration(value: Any) -> float:
    """Seconds from a number (seconds) or a string of number+unit parts ("90s", "5m", "1h30m");
    a ValueError that shows the accepted forms otherwise. Negative durations are refused."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; e.g. '60s', '5m', '24h'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        try:
            seconds = float(text)  # a bare number: seconds (as an environment variable gives it)
        except ValueError:
            parts = _PART.findall(text)
            if not text or "".join(n + u for n, u in parts).lower() != text.lower():
                raise ValueError(f"{value!r} is not a duration; e.g. '60s', '5m', '24h' or '1h30m' "
                                 f"(units: {', '.join(UNITS)})") from None
            seconds = sum(float(n) * UNITS[u.lower()] for n, u in parts)
    else:
        raise ValueError(f"{value!r} is not a duration; e.g. '60s', '5m', '24h'")
    if seconds < 0:
        raise ValueError(f"{value!r} is negative; a duration is at least 0 seconds")
    return seconds


def format_duration(seconds: float) -> str:
    """A short human form: 45s, 5m, 1h30m, 2d (what `kb status` prints)."""
    if seconds < 60:
        return f"{seconds:.0f}s" if seconds >= 1 or seconds == 0 else f"{seconds:.1f}s"
    out, rest = [], round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(out[:2])


Duration = Annotated[float, BeforeValidator(parse_duration)]
