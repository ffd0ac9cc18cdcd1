"""Errors no retry can fix, told apart from the ones a retry can (issue 17: minutes of hopeless retries).

The CDK retries every `requests` exception with backoff, per stream: a closed port or a wrong CA
took over two minutes to fail with a generic hint. `classify` names what went wrong at the transport:
- `tls`: a certificate that does not verify (a private CA without ca_bundle), or a handshake that fails
  before the site ever answered (https against plain http);
- `scheme`: scheme = "http" against a server that speaks TLS (it resets every plain request);
- `proxy`: the proxy named by HTTPS_PROXY / HTTP_PROXY cannot be reached or refuses the tunnel;
- `dns`, `refused`, `timeout`: the host does not resolve, nothing listens, nothing answers;
  hopeless only while the site has not answered once this run (a server that answered and then
  drops out may be restarting: those stay retried). Timeouts get one retry first, so the total is
  about twice `timeout_seconds`.
`meter.metering` raises `Hopeless` (not a `requests` exception, so the CDK does not retry it) and the
pull's error carries `hint(kind)`.
"""

from __future__ import annotations

import socket
import ssl
from functools import lru_cache
from urllib.parse import urlsplit

TIMEOUTS_BEFORE_GIVING_UP = 2
HOPELESS_TITLES = {"tls": "TLS failed", "scheme": "wrong scheme", "proxy": "proxy failed",
                   "dns": "host not found", "refused": "connection refused", "timeout": "no answer",
                   "stalled": "no good answer for too long"}


class Hopeless(Exception):
    """A transport error no retry can fix; `kind` is one of tls, scheme, dns, refused, timeout."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind, self.detail = kind, detail


def classify(exc: BaseException, url: str, *, answered: bool, timeouts: int) -> str | None:
    """The hopeless kind of `exc` for a request to `url`, or None when a retry may help."""
    import requests

    chain = _chain(exc)
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain):
        return "tls"  # a certificate does not change between retries
    if answered:
        return None
    if isinstance(exc, requests.exceptions.ProxyError):
        return "proxy"  # before `refused`: a closed proxy port refuses too
    if any(isinstance(e, ssl.SSLError) and not isinstance(e, ssl.SSLEOFError) for e in chain):
        return "tls"  # a handshake that fails before the site ever answered (https against http)
    text = " ".join(str(e) for e in chain)
    if isinstance(exc, requests.exceptions.Timeout):
        return "timeout" if timeouts + 1 >= TIMEOUTS_BEFORE_GIVING_UP else None
    if "NameResolutionError" in text or any(isinstance(e, socket.gaierror) for e in chain) \
            or "Name or service not known" in text or "nodename nor servname" in text:
        return "dns"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "Connection refused" in text:
        return "refused"
    parts = urlsplit(url)
    if parts.scheme == "http" and isinstance(exc, requests.exceptions.ConnectionError) \
            and speaks_tls(parts.hostname or "", parts.port or 80):
        return "scheme"
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or item in seen or len(seen) > 20:
            continue
        seen.append(item)
        todo += [item.__cause__, item.__context__, *[a for a in item.args if isinstance(a, BaseException)]]
        reason = getattr(item, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
    return seen


@lru_cache(maxsize=32)
def speaks_tls(host: str, port: int) -> bool:
    """True when host:port completes a TLS handshake (certificate not checked: only the protocol)."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=3) as raw, \
                context.wrap_socket(raw, server_hostname=host or None):
            return True
    except (OSError, ssl.SSLError):
        return False


def hint(kind: str, base_url: str, timeout: float, give_up_after: float = 0.0) -> str:
    """What to do about a hopeless error of `kind` against `base_url`."""
    host = urlsplit(base_url).netloc
    return {
        "tls": f"the TLS handshake with {host} failed: for a private CA set [confluence] ca_bundle to its "
               "PEM file; if the server speaks plain HTTP set [confluence] scheme = \"http\"",
        "scheme": f"{host} speaks HTTPS but [confluence] scheme is \"http\": set scheme = \"https\"",
        "proxy": f"the proxy in the environment (HTTPS_PROXY / HTTP_PROXY) could not take a request for "
                 f"{host}: fix or unset it, or add the host to NO_PROXY",
        "dns": f"{host.split(':')[0]} does not resolve: check [confluence] domain_name (a bare host such as "
               "example.atlassian.net) and this machine's DNS",
        "refused": f"nothing listens on {host}: check the port in [confluence] domain_name and that the "
                   "server is running",
        "timeout": f"{host} did not answer within [pull] timeout_seconds ({timeout:g} s), "
                   f"{TIMEOUTS_BEFORE_GIVING_UP} times: check domain_name, the network or a proxy; raise "
                   "timeout_seconds for a slow site",
        "stalled": f"{host} gave no successful answer for [pull] give_up_after_seconds ({give_up_after:g} s) "
                   "in spite of retries: the site is down or overloaded; run `kb pull` again later (what was "
                   "read is kept), or raise give_up_after_seconds",
    }.get(kind, f"check that {base_url} is reachable")
