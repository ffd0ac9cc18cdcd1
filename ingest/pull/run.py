"""`pull()`: read Confluence through PyAirbyte and make the ledger's pages exact.

One run:
1. read, in one PyAirbyte read: the pages and blog posts modified since the ledger's cursor minus
   the lookback, the spaces, the access listings and the count gate's streams. The read is held in
   memory (`_airbyte.memory`: a quiet poll's few hundred records cost more to write to a new DuckDB
   file than to read); past SMALL_READ content records (a first pull, `--full`, a busy window) the
   content goes to spill files instead and is streamed back from them. The DuckDB cache is only
   the fallback where that read loop does not fit the installed PyAirbyte;
2. apply the pulled pages to the ledger in batches (each one transaction), classified by
   `ingest.pull.reconcile.classify`;
3. plan the sweep (`reconcile.plan_sweep`): fetch by id what the window missed, relink moved
   pages, restore, and — after the mass-delete guard — trash or delete what vanished;
4. one last transaction: sweep actions and the new cursor (the newest `version.when` read).
The cursor is written only after every page it covers is committed, so a crash (even kill -9)
at any point leaves a ledger that the next pull completes to the same state as a clean pull.
A read that fails part-way (Confluence gone at page 40,000 of a first pull) keeps what it read:
the records of the content streams (`_airbyte.salvage`) are applied and each kind's cursor moves
to what was read of it (`ingest.pull.cursor`), with no sweep actions; the run still fails, and
the next one goes on from there.
Pull never deletes rows: tombstones keep status 'trashed' or 'deleted'.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from ingest import heap
from ingest.config import Settings
from ingest.errors import KBError, MassDeleteRefused, SourceError
from ingest.pull import _airbyte as src
from ingest.pull import sweep
from ingest.pull.access import access_streams, read_access
from ingest.pull.apply import DRY_RUN_CACHE, Progress, PullRun, apply_pages
from ingest.pull.attachments import STREAM as ATTACHMENTS
from ingest.pull.attachments import apply_attachments
from ingest.pull.comments import STREAM as COMMENTS
from ingest.pull.comments import apply_comments
from ingest.pull.commit import commit_cursor
from ingest.pull.cursor import moves, start_date, start_dates
from ingest.pull.macros import fetch_rendered
from ingest.pull.reconcile import plan_sweep, too_many_removals
from ingest.records import PullReport
from ingest.storage.access import LedgerAccess
from ingest.storage.ledger import Ledger
from ingest.storage.lock import writer
from ingest.storage.states import page_states_of

SMALL_READ = 1000  # content records a read holds in memory; more go to spill files (_airbyte.memory)


def pull(settings: Settings, *, spaces: Sequence[str] | None = None, full: bool = False,
         dry_run: bool = False, allow_mass_delete: bool = False, source: str | None = None,
         progress: Progress | None = None) -> PullReport:
    """Pull pages and blog posts into the ledger; returns what happened (see PullReport)."""
    started = time.monotonic()
    kind = source or settings.pull.source
    if kind not in ("manifest", "stock"):
        raise KBError(f"unknown source {kind!r}",
                      "use --source manifest (ours, incremental) or --source stock")
    if kind == "stock":
        src.stock_config(settings)  # at once, before any lock or cache: it cannot talk to Data Center
    scope = tuple(spaces or settings.confluence.spaces)
    meter = src.RequestMeter(give_up_after=settings.pull.give_up_after_seconds)
    lock = nullcontext() if dry_run else writer(settings.data_dir, "pull")
    with heap.frozen(), lock, Ledger(settings.data_dir) as ledger:  # see ingest.heap
        run_id = None if dry_run else ledger.start_run("pull")
        run = PullRun(settings, ledger, run_id, scope, dry_run, progress)
        try:
            if kind == "stock":
                _pull_stock(run, meter, allow_mass_delete=allow_mass_delete)
            else:
                _pull_manifest(run, meter, full=full, allow_mass_delete=allow_mass_delete)
        except KBError as err:
            _finish(run, "failed", {"error": err.message, "requests": meter.requests,
                                    "kept": err.context.get("kept", 0), "notes": list(run.notes)})
            raise
        finally:
            if dry_run:
                src.drop_caches(settings, DRY_RUN_CACHE)
        report = _report(run, meter, time.monotonic() - started)
        _finish(run, "dry-run" if dry_run else "ok", {**report.to_dict(), "notes": list(report.notes)})
    return report


def _finish(run: PullRun, status: str, report: dict[str, Any]) -> None:
    if run.run_id is not None:
        run.ledger.finish_run(run.run_id, status, report)


def _report(run: PullRun, meter: Any, seconds: float) -> PullReport:
    c = run.counts
    return PullReport(seen=c["seen"], new=c["new"], changed=c["changed"], unchanged=c["unchanged"],
                      moved=c["moved"], deleted=c["deleted"], restored=c["restored"],
                      requests=meter.requests, bytes=meter.bytes, seconds=seconds, notes=tuple(run.notes),
                      work=tuple(run.work), access=run.access_report, swept=dict(run.swept))


# --- our manifest ------------------------------------------------------------------------------
def _pull_manifest(run: PullRun, meter: Any, *, full: bool, allow_mass_delete: bool) -> None:
    settings, ledger = run.settings, run.ledger
    g = sweep.open_gate(run, full=full)
    # The access streams (spaces with their permissions, groups, members) on every pull: what they
    # hold changes without a new version of any page (ingest.pull.access). The spaces' counts and
    # the audit log feed the count gate (ingest.pull.gate, ingest.pull.audit).
    deployment = settings.confluence.deployment
    streams = ["pages", "blog_posts", *access_streams(deployment), *g.streams()]
    streams += ([COMMENTS] if settings.content.comments else []) + (
        [ATTACHMENTS] if settings.content.attachments else [])
    config = src.manifest_config(settings, start_date=start_date(ledger, settings, run.spaces, full),
                                 start_dates=start_dates(ledger, settings, run.spaces, full),
                                 spaces=run.spaces, extra=g.config())
    run.tell(0, None, f"reading {', '.join(streams)}")
    held = _read_memory(run, config, streams, meter)
    cached = src.opened_cache(settings, run.cache_name("manifest")) if held is None else closing(held)
    with cached as cache:
        if held is None:
            _read_cached(run, config, cache, streams, meter)
        names = src.space_names(cache)
        read_access(cache, run.access, deployment)
        _note_unreadable_groups(run, meter)
        if held is None or held.files:
            known = ledger.page_states(run.spaces)
        else:  # a few pages, held in memory: look up only those (not the whole ledger)
            window = (str(r.get("id")) for s in src.CONTENT_STREAMS for r in src.cached_records(cache, s))
            known = page_states_of(ledger, window, run.spaces)
        site = src.site_url(settings)
        for stream in src.CONTENT_STREAMS:
            pages = run.pages(cache, stream, site, names)
            apply_pages(run, pages, known, track_cursor=True)
        if settings.content.comments:
            apply_comments(run, cache)
        if settings.content.attachments:
            apply_attachments(run, cache)
        why = sweep.decide(run, g, cache, names, meter)
    fetch_rendered(run, meter, sorted(run.pulled))
    if not why:
        run.notes.append("no space swept: every space's counts agree with the ledger (ingest.pull.gate); a "
                         f"full sweep runs every {settings.pull.full_sweep_every} per space")
        commit_cursor(run, None, meta=sweep.audit_meta(run))
        return
    sweep.sweep(run, meter, g, why, names, allow_mass_delete=allow_mass_delete)


def _read_memory(run: PullRun, config: dict[str, Any], streams: list[str], meter: Any) -> Any:
    """The read held in memory, its content spilled to files past SMALL_READ records
    (`_airbyte.memory`). None when PyAirbyte's read loop broke without a failed request: the caller
    reads into the DuckDB cache as before. A failed read keeps the content it had read
    (`_keep_what_was_read`) and raises; nothing is swept or deleted."""
    bounded = [s for s in streams if s in (*src.CONTENT_STREAMS, COMMENTS, ATTACHMENTS)]
    with _keeping_what_is_read(run) as salvage:  # as the cached read keeps it
        read = src.read_memory(run.settings, src.open_source(run.settings, config), streams, meter,
                               bounded=bounded, limit=SMALL_READ, salvage=salvage,
                               spill=src.spill_dir(src.airbyte_root(run.settings), run.cache_name("spill")))
    if read is None:
        meter.forbidden.clear()  # the cached read sees the same refusals again
    else:  # the previous read's cache file no longer holds the last read: it goes, as open_cache does
        src.drop_caches(run.settings, f"{run.cache_name('manifest')}-")
    return read


def _read_cached(run: PullRun, config: dict[str, Any], cache: Any, streams: list[str], meter: Any) -> None:
    """The read into the DuckDB cache; a failure part-way keeps the content read (salvage)."""
    settings = run.settings
    with _keeping_what_is_read(run) as salvage:
        src.read(settings, src.open_source(settings, config), cache, streams, meter, salvage=salvage)


@contextmanager
def _keeping_what_is_read(run: PullRun) -> Iterator[src.Salvage | None]:
    """The salvage of one read (None on a dry run): a SourceError inside keeps the content read."""
    salvage = None if run.dry_run else src.Salvage(src.airbyte_root(run.settings),
                                                   frozenset(src.CONTENT_STREAMS))
    try:
        yield salvage
    except SourceError as err:
        raise _keep_what_was_read(run, salvage, err) from err
    finally:
        if salvage is not None:
            salvage.discard()


def _note_unreadable_groups(run: PullRun, meter: Any) -> None:
    """Group listings the account may not read (403) were skipped: those groups count as empty."""
    refused = run.access.unreadable_groups = [path for path in meter.forbidden if "/group" in path]
    if refused:
        run.notes.append(f"access: {len(refused)} group listings were refused (403), e.g. {refused[0]}: "
                         "those groups count as empty, so what they grant stays hidden; give the account "
                         "permission to browse users and groups")


def _keep_what_was_read(run: PullRun, salvage: src.Salvage | None, err: SourceError) -> SourceError:
    """A read failed part-way: apply the content it had read, move each kind's cursor no further
    than that (`cursor.moves`), and say so in the error. No sweep, no access listings: those were
    not read whole, so nothing is deleted and no space rule or membership changes."""
    if salvage is None or not salvage.active or not any(salvage.counts.values()):
        return err
    known = run.ledger.page_states(run.spaces)
    site = src.site_url(run.settings)
    for stream in src.CONTENT_STREAMS:
        pages = (src.to_page(r, site=site, space_names={}) for r in salvage.records(stream))
        apply_pages(run, pages, known, track_cursor=True)
    finished = [kind for stream, kind in src.CONTENT_STREAMS.items() if stream in salvage.complete]
    with run.ledger.tx():
        for key, value in moves(run.ledger, run.spaces, run.newest, run.newest_by_kind, finished).items():
            run.ledger.set_cursor(key, value, run.run_id)
        result = LedgerAccess(run.ledger).recompute()  # the kept pages' classes, from the known rules
    kept = run.counts["new"] + run.counts["changed"] + run.counts["moved"]
    run.notes.append(f"the read failed part-way: {run.counts['seen']} pages read were applied ({kept} new or "
                     f"changed); the next pull goes on from there")
    run.access_report = {"classes": result.classes, "pages_reclassified": result.changed,
                         "unresolved": len(result.unresolved)}
    return SourceError(err.message, f"{err.guidance} ({run.counts['seen']} pages read before the failure "
                       "were kept: the next `kb pull` goes on from there)",
                       {**err.context, "kept": run.counts["seen"]})


# --- the stock connector -------------------------------------------------------------------------
def _pull_stock(run: PullRun, meter: Any, *, allow_mass_delete: bool) -> None:
    """Airbyte's source-confluence (full refresh): everything is read; the listing is the sweep."""
    settings, ledger = run.settings, run.ledger
    with src.opened_cache(settings, run.cache_name("stock")) as cache:
        run.tell(0, None, "reading pages, blog_posts, space (stock connector)")
        src.read(settings, src.open_source(settings, src.stock_config(settings), stock=True), cache,
                 ["pages", "blog_posts", "space"], meter)
        names = src.space_names(cache, "space")
        known = ledger.page_states(run.spaces)
        site = src.site_url(settings)
        for stream in src.CONTENT_STREAMS:
            pages = run.pages(cache, stream, site, names)
            apply_pages(run, pages, known, track_cursor=False)
    listing = {pid: _Listed(pid, v) for pid, v in run.pulled.items()}
    plan = plan_sweep(known, run.pulled, listing, {})
    n_current = sum(1 for k in known.values() if k.status == "current")
    refuse = too_many_removals(plan, n_current, settings.pull.max_delete_fraction) and not allow_mass_delete
    run.notes.append("stock connector: full refresh, no labels or ancestors; vanished pages count as deleted")
    sweep.commit_sweep(run, plan, known, apply_removals=not refuse, swept_all=True)
    if refuse:
        raise MassDeleteRefused(f"refusing to remove {plan.removals} of {n_current} known pages",
                                "run `kb pull --allow-mass-delete` if the deletions are real")


@dataclass(frozen=True)
class _Listed:
    """A page seen in a full listing: it exists, at this version."""

    id: str
    version: int
    status: str = "current"
    title: str = ""
    space_key: str = ""
    ancestors: None = None


def iter_work(report: PullReport) -> Iterator[str]:
    """The work list of a dry run, one line each (`str` of its typed items)."""
    return (str(item) for item in report.work)
