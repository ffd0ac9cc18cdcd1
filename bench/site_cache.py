"""Benchmark of the site DataFrame (`ingest.site_cache`): the ledger export (chosen) beside a
persistent PyAirbyte cache merged from each pull's window read (the alternative), at N pages.

    .venv/bin/python bench/site_cache.py [--pages 2000]

Prints, for the export: the first build's seconds and file size, a no-change refresh, and a refresh
after a pull that saw 1% of the pages edited, one trashed and one purged; the frame's rows beside the
ledger's current pages. For the merged window cache: a full read merged into it, a window read merged
after the same changes, and its rows beside the ledger's (trash and purge never reach a window read).
The emulator runs as its own process (`kb emulator --pages N`), as in bench/pull.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pull import start_emulator  # noqa: E402


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000)
    args = parser.parse_args()
    from emulator.admin import EmulatorAdmin
    from ingest.config import load_settings
    from ingest.pull import _airbyte as src
    from ingest.pull.cursor import start_date
    from ingest.pull.run import pull
    from ingest.site import refresh_site, site_cache
    from ingest.storage.ledger import Ledger

    with tempfile.TemporaryDirectory() as tmp:
        proc, fields = start_emulator(args.pages, Path(tmp))
        try:
            settings = load_settings(confluence={"domain_name": fields["domain"], "email": fields["email"],
                                                 "api_token": fields["token"], "ca_bundle": fields["ca"]},
                                     data={"dir": str(Path(tmp) / "kb")}, pull={"page_size": 50})
            admin = EmulatorAdmin(fields["url"], ca_path=fields["ca"])
            t = time.monotonic()
            pull(settings)
            print(f"full pull of {args.pages} pages: {time.monotonic() - t:.2f} s")

            def current() -> int:
                with Ledger(settings.data_dir, readonly=True) as led:
                    return led.count("pages", "status = 'current'")

            def merged_read(full: bool) -> tuple[float, int]:
                with Ledger(settings.data_dir, readonly=True) as led:
                    since = start_date(led, settings, (), full)
                cache = src.open_site_cache(settings, "merged-window.duckdb")
                config = src.manifest_config(settings, start_date=since)
                t = time.monotonic()
                src.read(settings, src.open_source(settings, config), cache, ["pages", "blog_posts"],
                         src.RequestMeter(), write_strategy="merge")
                took = time.monotonic() - t
                rows = len(cache["pages"].to_pandas()) + len(cache["blog_posts"].to_pandas())
                cache.close()
                return took, rows

            path = src.site_cache_path(settings)
            built = refresh_site(settings)
            print(f"export, first build: {built.seconds:.2f} s, {built.written} rows, {size_mb(path):.1f} MB")
            same = refresh_site(settings)
            print(f"export, no-change refresh: {same.seconds:.2f} s, {same.written} written")
            took, rows = merged_read(full=True)
            size = size_mb(src.site_cache_path(settings, "merged-window.duckdb"))
            print(f"merged window cache, full read merged: {took:.2f} s, {rows} rows, {size:.1f} MB")

            with Ledger(settings.data_dir, readonly=True) as led:
                pages = [p for p in led.iter_pages() if p.kind == "page"]
            ids = [p.id for p in pages]
            below = sum(1 for p in pages if {a.id for a in p.ancestors} & {ids[0], ids[1]})
            print(f"pages below the page to trash and the page to purge (their ancestors change): {below}")
            admin.clock(advance_minutes=10)
            step = max(1, len(ids) // 100)
            for pid in ids[2::step]:
                admin.edit(pid, body="<p>edited for the bench</p>")
            admin.trash(ids[0])
            admin.purge(ids[1])
            admin.clock(advance_minutes=10)
            took, rows = merged_read(full=False)
            print(f"merged window cache, window read merged after {len(ids[2::step])} edits, 1 trash, "
                  f"1 purge: {took:.2f} s, {rows} rows")
            t = time.monotonic()
            pull(settings)
            print(f"the pull of those changes: {time.monotonic() - t:.2f} s")
            after = refresh_site(settings)
            print(f"export, refresh after them: {after.seconds:.2f} s, {after.written} written, "
                  f"{after.deleted} deleted, {after.rows} rows, {size_mb(path):.1f} MB")
            t = time.monotonic()
            cache = site_cache(settings, refresh=False)
            df = cache["pages"].to_pandas()
            cache.close()
            print(f"cache['pages'].to_pandas(): {time.monotonic() - t:.2f} s, {len(df)} rows; "
                  f"ledger current: {current()}; merged window cache rows: {rows}")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
