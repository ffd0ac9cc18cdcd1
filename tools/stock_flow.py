"""The seed's flow, for real: Airbyte's stock `source-confluence` through PyAirbyte into DuckDB.

Exactly what a user of the stock connector writes — get_source, check, get_available_streams,
select_all_streams, read into a DuckDB cache, to_pandas — offline, against the bundled emulator
or a real site. Start an emulator in another terminal (`kb emulator`), then:

    KB_CONFLUENCE__API_TOKEN=<token> python examples/stock_flow.py \\
        --domain 127.0.0.1:PORT --email EMAIL --ca /path/ca.pem

The stock connector is full refresh only; `kb pull` (our manifest) is the incremental path, and
`kb pull --source stock` runs this same connector into the knowledge base's ledger.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

# Before airbyte is imported: no registry lookups (offline), no telemetry.
os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")


def run(domain: str, email: str, token: str, *, ca: str | None = None,
        cache_dir: Path | None = None) -> dict[str, Any]:
    """Read every stock stream into DuckDB; returns row counts and the first page titles."""
    if ca:
        # requests (in-process) trusts this CA; SSL_CERT_FILE is ignored
        os.environ["REQUESTS_CA_BUNDLE"] = ca
    import airbyte as ab
    from airbyte.caches import DuckDBCache

    from ingest.assets import ensure_stock_manifest

    source = ab.get_source(
        "source-confluence",
        config={"email": email, "api_token": token, "domain_name": domain},
        source_manifest=ensure_stock_manifest(),  # taken from the PyPI package airbyte-source-confluence
    )
    source.check()
    streams = source.get_available_streams()
    source.select_all_streams()
    cache_dir = cache_dir or Path(tempfile.mkdtemp(prefix="stock-flow-"))
    cache = DuckDBCache(db_path=cache_dir / "stock.duckdb")
    source.read(cache=cache)
    pages = cache["pages"].to_pandas()
    counts = {name: len(cache[name].to_pandas()) for name in streams if name in cache.streams}
    blogs = cache["blog_posts"].to_pandas()
    blog_bodies = int(blogs["body"].notna().sum()) if "body" in blogs.columns else 0
    return {"streams": streams, "counts": counts, "titles": list(pages["title"].head(5)),
            "blog_bodies": blog_bodies}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", required=True,
                        help="host[:port], e.g. acme.atlassian.net or 127.0.0.1:8443")
    parser.add_argument("--email", required=True)
    parser.add_argument("--ca", default=None, help="CA bundle (PEM) of a server with a private CA")
    args = parser.parse_args(argv)
    token = os.environ.get("KB_CONFLUENCE__API_TOKEN", "")
    if not token:
        print("error: set KB_CONFLUENCE__API_TOKEN", file=sys.stderr)
        return 2
    result = run(args.domain, args.email, token, ca=args.ca)
    print(f"streams: {', '.join(result['streams'])}")
    for name, count in result["counts"].items():
        print(f"{name}: {count} rows")
    print("first pages:", "; ".join(result["titles"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
