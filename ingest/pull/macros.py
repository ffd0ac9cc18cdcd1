"""The pull's macro output: for pulled pages whose storage holds a listed macro ([content]
render_macros), read the rendered body (`body.export_view`) through PyAirbyte (the manifest's
`rendered` stream, by id) and keep, in the ledger's body, the rendered output of those macros only
(ingest/text/macros.py). Done once per page version: an unchanged page is not rendered again (so a
Jira issue's new status shows after the page's next edit, or `kb pull --full`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice
from typing import Any

from ingest.pull import _airbyte as src
from ingest.storage.rendered import LedgerRendered
from ingest.text.macros import listed_macros, merge_rendered

__all__ = ["STREAM", "fetch_rendered"]

STREAM = "rendered"
PER_READ = 50


def fetch_rendered(run: Any, meter: Any, page_ids: Sequence[str]) -> int:
    """Merge the rendered output of the listed macros into these pages' bodies; the pages done."""
    names = list(run.settings.content.render_macros)
    if run.dry_run or not names or not page_ids:
        return 0
    store = LedgerRendered(run.ledger)
    todo = [(pid, version, body) for pid, version, body in store.unrendered(page_ids)
            if listed_macros(body, names)]
    done = 0
    it = iter(todo)
    while batch := list(islice(it, PER_READ)):
        bodies = {pid: (version, body) for pid, version, body in batch}
        config = {**src.manifest_config(run.settings, start_date=run.settings.pull.start_date),
                  "render_ids": sorted(bodies)}
        run.tell(0, len(todo), f"rendering macros of {len(batch)} pages")
        with src.opened_cache(run.settings, run.cache_name("manifest-rendered")) as cache:
            src.read(run.settings, src.open_source(run.settings, config), cache, [STREAM], meter)
            merged = []
            for record in src.cached_records(cache, STREAM):
                pid = str(record.get("id"))
                view = ((record.get("body") or {}).get("export_view") or {}).get("value", "")
                if pid in bodies and view:
                    version, body = bodies[pid]
                    merged.append((pid, version, merge_rendered(body, str(view), names)))
        with run.ledger.tx():
            store.write(merged)
        done += len(merged)
    return done
