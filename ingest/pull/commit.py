"""The last transaction of a pull: pending sweep actions, meta, the cursor and access, together.

The cursor is never ahead of the pages it covers: it is written here, after every batch of pages
is committed (ingest/pull/apply.py), in one transaction with what the sweep decided.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from ingest.pull.access import report as access_report
from ingest.pull.access import write_access
from ingest.pull.apply import PullRun
from ingest.pull.cursor import moves

RUNS_SINCE_SWEEP = "pull_runs_since_sweep"


def commit_cursor(run: PullRun, actions: Callable[[], None] | None, *, swept_all: bool = False,
                  meta: Mapping[str, str] | None = None) -> None:
    """Pending actions, `meta`, the runs-since-sweep counter (0 after a sweep of every space in
    scope), the cursor, the names seen, and access: one transaction."""
    if run.dry_run:
        return
    with run.ledger.tx():
        if actions is not None:
            actions()
        since = 0 if swept_all else int(run.ledger.get_meta(RUNS_SINCE_SWEEP) or 0) + 1
        run.ledger.set_meta(RUNS_SINCE_SWEEP, str(since))
        for key, value in (meta or {}).items():
            run.ledger.set_meta(key, value)
        for key, value in moves(run.ledger, run.spaces, run.newest, run.newest_by_kind, None).items():
            run.ledger.set_cursor(key, value, run.run_id)
        save_users(run)
        result = write_access(run.ledger, run.access, run.users, run.run_id)
    run.access_report = access_report(result, run.access)
    if result.unresolved:
        run.notes.append(f"access: {len(result.unresolved)} pages could not be resolved and are hidden from "
                         "every principal (see `kb access PAGE_ID`): "
                         + ", ".join(f"{pid} ({why})" for pid, why in result.unresolved[:5]))


def save_users(run: PullRun) -> None:
    """Merge the names seen this run into ledger meta 'users' (what the index shows for a
    mention). Inside the run's last transaction."""
    if not run.users:
        return
    known = run.ledger.users()
    merged = {**known, **run.users}
    if merged != known:
        run.ledger.set_meta("users", json.dumps(merged, sort_keys=True, ensure_ascii=False))
