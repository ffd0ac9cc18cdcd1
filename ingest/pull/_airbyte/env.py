"""PyAirbyte's environment: offline, no telemetry, its files under the data dir, the site's CA.

`prepare_environment` runs before airbyte is first imported (`import_airbyte`). The CA bundle is
scoped: `trusted_ca` sets `REQUESTS_CA_BUNDLE` (what requests reads for every request in-process;
the CDK gives no other way to pass a CA) only for the duration of our reads and checks, and
restores what the process had before.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ingest.config import Settings
from ingest.errors import ConfigError

_CA_VARIABLE = "REQUESTS_CA_BUNDLE"


def airbyte_root(settings: Settings) -> Path:
    """Where PyAirbyte's logs, caches and temporary files live: under the data dir."""
    return settings.data_dir / "airbyte"


def prepare_environment(settings: Settings) -> Path:
    """Offline, no telemetry, logs and caches under the data dir. Call before importing airbyte;
    returns the PyAirbyte root under the data dir."""
    root = airbyte_root(settings)
    (root / "logs").mkdir(parents=True, exist_ok=True)
    os.environ["AIRBYTE_OFFLINE_MODE"] = "1"
    os.environ["DO_NOT_TRACK"] = "1"
    os.environ.setdefault("AIRBYTE_LOGGING_ROOT", str(root / "logs"))
    os.environ.setdefault("AIRBYTE_CACHE_ROOT", str(root))
    ca_bundle(settings)  # a missing CA file is a config error before any work starts
    return root


def ca_bundle(settings: Settings) -> str | None:
    """The configured CA file, resolved; None when the system's CAs are used."""
    ca = settings.confluence.ca_bundle
    if not ca:
        return None
    if not Path(ca).is_file():
        raise ConfigError(f"[confluence] ca_bundle not found: {ca}", "point it at the server's CA (PEM)")
    return str(Path(ca).resolve())


@contextmanager
def trusted_ca(settings: Settings) -> Iterator[None]:
    """Trust the configured CA for the requests made inside the block, then restore the process's
    own `REQUESTS_CA_BUNDLE` (or its absence). Without a configured CA the process's is used."""
    ca = ca_bundle(settings)
    if ca is None:
        yield
        return
    before = os.environ.get(_CA_VARIABLE)
    os.environ[_CA_VARIABLE] = ca
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(_CA_VARIABLE, None)
        else:
            os.environ[_CA_VARIABLE] = before


def import_airbyte() -> Any:
    """Import airbyte (after `prepare_environment`), quietly: google-cloud packages it pulls in
    warn about Python 3.11 on import."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import airbyte

    return airbyte
