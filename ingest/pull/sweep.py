"""The id sweep of the spaces the count gate picks (ingest/pull/gate.py), and what it decides.

A pull reads its window with the spaces' counts and the audit log since the last pull (one read,
ingest/pull/run.py); `decide` names the spaces to sweep and why; `sweep` lists those spaces' ids
and their trash in a second read, plans (`reconcile.plan_sweep`) against the ledger's pages of
those spaces only, and commits relinks, restores and (after the mass-delete guard) removals with
the cursor and the new sweep record, in one transaction. A page gone from a swept space while
other spaces in scope were not swept may have moved there: it is fetched by id before it counts
as deleted. A sweep that fails deletes nothing; the window it followed stays applied.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any

from ingest.durations import parse_duration
from ingest.errors import MassDeleteRefused, SourceError
from ingest.pull import _airbyte as src
from ingest.pull import audit, gate
from ingest.pull.apply import PullRun, apply_pages, batched
from ingest.pull.commit import RUNS_SINCE_SWEEP, commit_cursor
from ingest.pull.macros import fetch_rendered
from ingest.pull.reconcile import SweepPlan, plan_sweep, too_many_removals
from ingest.records import WorkItem
from ingest.storage.counts import space_counts
from ingest.storage.ledger import PageState

FETCH_IDS_PER_READ = 100
SPILL_ROWS = 100  # listing pages (up to 250 ids each) the sweep's read holds in memory
COUNTS, AUDIT = "space_counts", "audit"


@dataclass
class Gate:
    """What the first read of a pull needs for the gate, from the ledger."""

    sweeps: dict[str, dict[str, Any]]
    forced: str | None
    count_spaces: list[str]
    audit_since: int | None
    now: float

    def streams(self) -> list[str]:
        return ([COUNTS] if self.count_spaces else []) + ([AUDIT] if self.audit_since is not None else [])

    def config(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"count_spaces": self.count_spaces}
        if self.audit_since is not None:
            extra["audit_since"] = str(self.audit_since)
        return extra


def open_gate(run: PullRun, *, full: bool) -> Gate:
    ledger, every = run.ledger, run.settings.pull.sweep_every
    sweeps = gate.load_sweeps(ledger.get_meta(gate.SWEEPS_META))
    forced = "kb pull --full" if full else None
    if not forced and every >= 1 and int(ledger.get_meta(RUNS_SINCE_SWEEP) or every) + 1 >= every:
        forced = f"sweep_every={every}"
    known_spaces = set(space_counts(ledger, run.spaces)) | set(sweeps)
    count_spaces = sorted(run.spaces or known_spaces)
    since = ledger.get_meta(audit.AUDIT_META)
    return Gate(sweeps, forced, count_spaces, int(since) if since and since.isdigit() else None, time.time())


def decide(run: PullRun, g: Gate, cache: Any, names: Mapping[str, str], meter: Any) -> dict[str, str]:
    """space -> why it is swept this run (after the window's pages are applied)."""
    scope = sorted(run.spaces or (set(names) | set(g.count_spaces)))
    remote = gate.remote_counts(src.cached_records(cache, COUNTS))
    local = gate.from_pairs(space_counts(run.ledger, run.spaces))
    why = gate.plan(scope, remote, local, g.sweeps, now=g.now,
                    full_every=parse_duration(run.settings.pull.full_sweep_every), forced=g.forced)
    if g.audit_since is not None:
        records = list(src.cached_records(cache, AUDIT))
        if any("/audit" in path for path in meter.forbidden):
            every = run.settings.pull.full_sweep_every
            run.notes.append("the audit log is not readable by this account (403): restriction changes "
                             "reach the index at each space's periodic full sweep ([pull] full_sweep_every "
                             f"= {every}); grant it the audit log to see them at once")
        for space, reason in audit.spaces_to_sweep(audit.restriction_changes(records), names, scope).items():
            why.setdefault(space, reason)
        run.audit_since = audit.newest(records, g.audit_since)
    else:  # the first pull: the audit log is read from the newest change this pull saw
        run.audit_since = audit.epoch_ms(run.newest or run.ledger.get_cursor("content") or "")
    return why


def sweep(run: PullRun, meter: Any, g: Gate, why: Mapping[str, str], names: dict[str, str], *,
          allow_mass_delete: bool) -> None:
    """List the ids of the spaces in `why` and apply what the listing says (module docstring)."""
    settings, swept = run.settings, sorted(why)
    run.swept = dict(why)
    config = src.manifest_config(settings, start_date=settings.pull.start_date, spaces=run.spaces,
                                 extra={"sweep_spaces": swept, "count_spaces": swept})
    run.tell(0, None, f"sweeping {len(swept)} spaces: {', '.join(swept[:5])}")
    try:
        with _listing(run, config, meter) as cache:
            current = {e.id: e for e in map(src.to_sweep_entry, src.sweep_records(cache, "content_ids"))}
            trashed = {e.id: e for e in map(src.to_sweep_entry, src.sweep_records(cache, "trashed_ids"))
                       if e.space_key in why}
            remote = gate.remote_counts(src.cached_records(cache, COUNTS))
    except SourceError:
        commit_cursor(run, None, meta=audit_meta(run))  # the window is applied whole: its cursor holds
        raise
    run.access.restrictions.update((e.id, e.read) for e in current.values() if e.read is not None)
    known = run.ledger.page_states(run.spaces)
    mine = {pid: k for pid, k in known.items() if k.space_key in why}
    plan = plan_sweep(mine, run.pulled, current, trashed)
    partial = bool(set(run.spaces or names) - set(why))
    try:
        if plan.fetch:
            fetch_ids(run, meter, plan.fetch, known, names)
            fetch_rendered(run, meter, plan.fetch)
        if partial and plan.delete:  # gone from a swept space: moved to one not swept?
            fetch_ids(run, meter, plan.delete, known, names)
            plan.delete = [pid for pid in plan.delete if pid not in run.pulled]
    except SourceError:
        commit_cursor(run, None, meta=audit_meta(run))
        raise
    n_current = sum(1 for k in known.values() if k.status == "current")
    refuse = too_many_removals(plan, n_current, settings.pull.max_delete_fraction) and not allow_mass_delete
    commit_sweep(run, plan, known, apply_removals=not refuse, swept_all=g.forced is not None,
                 record=(g, why, remote))
    if refuse:
        raise MassDeleteRefused(
            f"refusing to remove {plan.removals} of {n_current} known pages (more than "
            f"max_delete_fraction={settings.pull.max_delete_fraction}); nothing was deleted",
            "check the site and the space filter; if the deletions are real, "
            "run `kb pull --allow-mass-delete`",
            {"removals": plan.removals, "known": n_current})


@contextmanager
def _listing(run: PullRun, config: dict[str, Any], meter: Any) -> Iterator[Any]:
    """The sweep's read (the id listings and the counts), held in memory and spilled to files past
    SPILL_ROWS listing pages (`_airbyte.memory`); read into a DuckDB cache where that read loop does
    not fit the installed PyAirbyte."""
    settings, streams = run.settings, [*src.SWEEP_STREAMS, COUNTS]
    source = src.open_source(settings, config)
    held = src.read_memory(settings, source, streams, meter, bounded=src.SWEEP_STREAMS, limit=SPILL_ROWS,
                           spill=src.spill_dir(src.airbyte_root(settings), run.cache_name("spill-sweep")))
    if held is not None:
        with closing(held):
            yield held
        return
    meter.forbidden.clear()
    with src.opened_cache(settings, run.cache_name("manifest-sweep")) as cache:
        src.read(settings, source, cache, streams, meter)
        yield cache


def fetch_ids(run: PullRun, meter: Any, ids: Sequence[str], known: dict[str, PageState],
              names: dict[str, str]) -> None:
    """Read the bodies of pages by id (created or edited outside the window, or gone from a swept
    space), FETCH_IDS_PER_READ per read; what is found is applied like the window's pages."""
    settings = run.settings
    site = src.site_url(settings)
    for chunk in batched(ids, FETCH_IDS_PER_READ):
        config = src.manifest_config(settings, start_date=settings.pull.start_date, ids=chunk,
                                     spaces=run.spaces)
        run.tell(0, len(ids), f"fetching {len(chunk)} pages by id")
        with src.opened_cache(settings, run.cache_name("manifest-ids")) as cache:
            src.read(settings, src.open_source(settings, config), cache, list(src.CONTENT_STREAMS), meter)
            for stream in src.CONTENT_STREAMS:
                apply_pages(run, run.pages(cache, stream, site, names), known, track_cursor=False)


def audit_meta(run: PullRun) -> dict[str, str]:
    """The ledger meta a run's last transaction writes for the audit log's next read."""
    return {audit.AUDIT_META: str(run.audit_since)} if run.audit_since is not None else {}


def commit_sweep(run: PullRun, plan: SweepPlan, known: dict[str, PageState], *, apply_removals: bool,
                 swept_all: bool,
                 record: tuple[Gate, Mapping[str, str], Mapping[str, gate.Counts]] | None = None) -> None:
    """Relinks, restores and (when allowed) removals, the sweep record and the cursor: one
    transaction. `record`: (the gate, why each space was swept, the counts read with the listing)."""
    c = run.counts
    c["moved"] += len(plan.relink)
    c["restored"] += len(plan.restore)
    for e in plan.relink:
        run.plan(WorkItem("moved", e.id, title=e.title, note="(place only)"))
    for pid in plan.restore:
        run.plan(WorkItem("restored", pid))
    if apply_removals:
        c["deleted"] += plan.removals + len(plan.purge)
        for label, ids in (("trashed", plan.trash), ("deleted", plan.delete), ("purged", plan.purge)):
            for pid in ids:
                run.plan(WorkItem(label, pid, title=known[pid].title))
    else:
        run.notes.append(f"mass delete refused: {plan.removals} removals not applied")

    def actions() -> None:
        ledger = run.ledger
        for e in plan.relink:
            ledger.relink_page(e.id, e.title, e.space_key, e.ancestors or (), run.run_id)
        for pid in plan.restore:
            ledger.set_page_status(pid, "current", run.run_id)
        if apply_removals:
            for pid in plan.trash:
                ledger.set_page_status(pid, "trashed", run.run_id)
            for pid in plan.delete + plan.purge:
                ledger.set_page_status(pid, "deleted", run.run_id)
        if record is not None:
            g, why, remote = record
            local = gate.from_pairs(space_counts(ledger, sorted(why)))
            sweeps = gate.record(g.sweeps, why if apply_removals else {}, remote, local, now=g.now)
            ledger.set_meta(gate.SWEEPS_META, json.dumps(sweeps, sort_keys=True))

    commit_cursor(run, actions, swept_all=swept_all, meta=audit_meta(run))
