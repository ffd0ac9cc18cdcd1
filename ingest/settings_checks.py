"""Checks of single setting values (part of the settings kernel: imports nothing of the project):
a bare host[:port], a CA bundle ssl accepts, a context path."""

from __future__ import annotations

import os
import re
from pathlib import Path

HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?\.?)+(?::\d{1,5})?"
                  r"|\[[0-9A-Fa-f:.]+\](?::\d{1,5})?")


def check_pem(path: str) -> None:
    """A CA bundle must be a readable PEM file that ssl accepts: a TLS handshake cannot fix it."""
    import ssl

    file = Path(path).expanduser()
    if not file.is_file() or not os.access(file, os.R_OK):
        raise ValueError(f"ca_bundle {path!r} is not a readable file")
    try:
        ssl.create_default_context(cafile=str(file))
    except (ssl.SSLError, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"ca_bundle {path!r} is not a PEM certificate bundle ({exc})") from None


def context_path(value: str | None) -> str | None:
    """"confluence/", "/confluence" -> "/confluence"; "" and "/" -> "" (the server's root)."""
    if value is None:
        return None
    text = value.strip().strip("/")
    if text and not re.fullmatch(r"[A-Za-z0-9._~%!$&'()*+,;=:@/-]+", text):
        raise ValueError(f"context_path {value!r} is not a URL path; e.g. '/confluence' or ''")
    return f"/{text}" if text else ""
