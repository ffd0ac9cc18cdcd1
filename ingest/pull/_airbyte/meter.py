"""Request metering: every HTTP request of a read counted (requests, bytes, the last failure).

The CDK builds its own `requests` session inside the source and offers no hook to mount an adapter
on it, so `metering` swaps `HTTPAdapter.send` for the duration of one read or check and puts it back
after, whatever happens. While it is swapped, a request another thread of this process makes through
`requests` is counted too: the pull's process makes none (the server, which may sync in-process,
talks HTTP through httpx, not requests).
An error no retry can fix (hopeless.py: TLS, DNS, refused, silence, the wrong scheme) is raised as
`Hopeless`, which the CDK does not retry, and later requests of the read fail at once: seconds, not
minutes. So does a read that has had no successful answer for `give_up_after` seconds (`stalled`):
retries of transient errors are bounded in total, not only per request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ingest.pull._airbyte.components import share_json
from ingest.pull._airbyte.hopeless import Hopeless, classify


@dataclass
class RequestMeter:
    """Counts every HTTP request made through `requests` while active: honest numbers."""

    requests: int = 0
    bytes: int = 0
    last_failure: str = ""
    answered: int = 0  # responses with a status, any status
    timeouts: int = 0  # consecutive timeouts before the site has answered once
    hopeless: str = ""  # the kind of the error no retry can fix (hopeless.py), once one was seen
    give_up_after: float = 0.0  # seconds without a successful answer before the read stops (0: never)
    last_ok: float = 0.0  # monotonic time of the last successful answer (or of the read's start)
    failed_since_ok: int = 0
    forbidden: list[str] = field(default_factory=list)  # paths answered 403 (the first 1,000)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def stalled(self, failed: bool) -> bool:
        """Note an attempt's outcome; True once failures have lasted `give_up_after` seconds."""
        now = time.monotonic()
        if not failed:
            self.last_ok, self.failed_since_ok = now, 0
            return False
        self.failed_since_ok += 1
        return 0 < self.give_up_after < now - self.last_ok

    def record(self, method: str, url: str, status: int | None, size: int, error: str = "") -> None:
        with self._lock:
            self.requests += 1
            self.bytes += size
            if error or (status is not None and status >= 400):
                self.last_failure = f"{method} {urlsplit(url).path} -> {error or status}"
            if status == 403 and len(self.forbidden) < 1000:
                self.forbidden.append(urlsplit(url).path)


@contextmanager
def metering(meter: RequestMeter) -> Iterator[RequestMeter]:
    """Count the requests made inside the block (see the module's docstring for the scope)."""
    import requests.adapters

    adapter = requests.adapters.HTTPAdapter
    original = adapter.send
    meter.last_ok = meter.last_ok or time.monotonic()

    def give_up(request: Any, what: str) -> Hopeless:
        meter.hopeless = meter.hopeless or "stalled"
        return Hopeless("stalled", f"{what} on {request.method} {urlsplit(request.url).path}, "
                        f"{meter.failed_since_ok} failed attempts since the last good answer")

    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        if meter.hopeless:  # the site is out of reach for this read: the other streams fail at once
            raise Hopeless(meter.hopeless, f"not sent after an earlier {meter.hopeless} error")
        try:
            response = original(self, request, *args, **kwargs)
        except Exception as exc:
            meter.record(request.method, request.url, None, 0, type(exc).__name__)
            kind = classify(exc, request.url, answered=meter.answered > 0, timeouts=meter.timeouts)
            meter.timeouts += "Timeout" in type(exc).__name__
            if kind is not None:  # not a requests exception: the CDK does not retry it
                meter.hopeless = meter.hopeless or kind
                where = f"{request.method} {urlsplit(request.url).path}"
                raise Hopeless(kind, f"{type(exc).__name__} on {where}") from exc
            if meter.stalled(failed=True):
                raise give_up(request, type(exc).__name__) from exc
            raise
        meter.answered += 1
        failed = response.status_code == 429 or response.status_code >= 500
        if meter.stalled(failed=failed):
            raise give_up(request, f"HTTP {response.status_code}")
        try:
            size = len(response.content)
        except Exception as exc:  # a body cut short: requests raises while reading it
            meter.record(request.method, request.url, response.status_code, 0, type(exc).__name__)
            raise
        meter.record(request.method, request.url, response.status_code, size)
        share_json(response)
        return response

    adapter.send = send  # type: ignore[method-assign]
    try:
        yield meter
    finally:
        adapter.send = original  # type: ignore[method-assign]
