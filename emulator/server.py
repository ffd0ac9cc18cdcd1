"""The emulator's HTTP(S) server: a threading http.server on 127.0.0.1.

HTTPS by default with a CA generated at start-up (trustme), written to a temporary directory as
`ca.pem`; HTTP/1.1 keep-alive, so one client reuses its TLS connection. Confluence routes need
basic auth (email + API token; 401 in Confluence's error shape otherwise); `/__admin/` routes need
no auth but answer loopback clients only. Faults (see faults.py) apply to Confluence routes; the
request log records them (admin calls excluded).
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import ipaddress
import json
import socket
import ssl
import struct
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from emulator import admin_routes
from emulator.api import Reply, Site, error
from emulator.faults import Faults, RequestLog
from emulator.store import Store, iso


def make_tls(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A fresh CA and a server certificate for 127.0.0.1/localhost; returns (context, ca.pem)."""
    import trustme

    ca = trustme.CA(organization_name="confluence-kb emulator")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_path = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context, ca_path


class EmulatorServer(ThreadingHTTPServer):
    """Holds the site, credentials, faults and request log; TLS is done per connection thread."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, store: Store, *, email: str, token: str, http: bool = False,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), Handler)
        self.store, self.email, self.token = store, email, token
        self.faults, self.log = Faults(), RequestLog()
        self._tmp = tempfile.TemporaryDirectory(prefix="kb-emulator-")
        self.tls: ssl.SSLContext | None = None
        self.ca_path = ""
        if not http:
            self.tls, ca = make_tls(Path(self._tmp.name))
            self.ca_path = str(ca)
        self.scheme = "http" if http else "https"
        self.domain = f"{host}:{self.server_address[1]}"
        self.url = f"{self.scheme}://{self.domain}"
        self.site = Site(store, self.url + "/wiki", email)
        self._thread: threading.Thread | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle stall per reply
        if self.tls is not None:
            request.settimeout(30)
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                request.close()
                return
            request.settimeout(None)
        try:
            self.RequestHandlerClass(request, client_address, self)  # type: ignore[arg-type]  # typeshed: Self
        finally:
            if self.tls is not None:
                with contextlib.suppress(OSError):
                    request.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # client hang-ups and injected resets are normal here

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="confluence-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._tmp.cleanup()

    def authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, self.email) and hmac.compare_digest(password, self.token)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # an idle keep-alive connection gives its thread back after this
    server: EmulatorServer
    server_version = "confluence-kb-emulator"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature (A002)
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query, keep_blank_values=True)
        body = self._read_body()
        if path.startswith("/__admin/"):
            if not ipaddress.ip_address(self.client_address[0]).is_loopback:
                self._send(error(403, "the admin API answers loopback clients only"))
                return
            self._send(admin_routes.handle(self.server, method, path[len("/__admin/"):], query, body))
            return
        started = time.perf_counter()
        fault = self.server.faults.pick(path)
        if fault is not None and fault.kind == "reset":
            self._log(method, path, query, 0, 0)
            self._reset()
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay if fault.delay is not None else 1.0)
        reply = self._answer(method, path, query, fault)
        sent = self._send(reply, truncate=fault is not None and fault.kind == "truncate")
        self._log(method, path, query, reply.status, sent, time.perf_counter() - started)

    def _answer(self, method: str, path: str, query: dict[str, list[str]], fault: Any) -> Reply:
        if fault is not None and fault.kind == "429":
            reply = error(429, "Rate limit exceeded")
            reply.headers["Retry-After"] = str(fault.retry_after if fault.retry_after is not None else 1)
            return reply
        if fault is not None and fault.kind in ("500", "503"):
            return error(int(fault.kind), "Internal Server Error" if fault.kind == "500"
                         else "Service Unavailable")
        if not self.server.authorised(self.headers.get("Authorization")):
            reply = error(401, "Current user not permitted to use Confluence")
            reply.headers["WWW-Authenticate"] = 'Basic realm="Protected"'
            return reply
        with self.server.store.lock:
            return self.server.site.route(method, path, query)

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return None
        raw = self.rfile.read(length)
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def _send(self, reply: Reply, truncate: bool = False) -> int:
        data = reply.body()
        self.send_response(reply.status)
        if (data or reply.payload is not None) and "Content-Type" not in reply.headers:
            self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        if truncate:
            data = data[: len(data) // 2]
            self.close_connection = True
        self.wfile.write(data)
        return len(data)

    def _reset(self) -> None:
        self.close_connection = True
        try:
            raw = self.connection
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw.close()
        except OSError:
            pass

    def _log(self, method: str, path: str, query: dict[str, list[str]], status: int, sent: int,
             seconds: float = 0.0) -> None:
        self.server.log.add({"method": method, "path": path, "query": query, "status": status,
                             "time": iso(self.server.store.clock.now_ms()), "bytes": sent,
                             "duration_ms": round(seconds * 1000, 3)})
