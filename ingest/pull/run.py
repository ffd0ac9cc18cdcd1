"""`pull()`: read Confluence through PyAirbyte and make the ledger's pages exact.

One run:
1. read, in one PyAirbyte read into the DuckDB cache: the pages and blog posts modified since the
   ledger's cursor minus the lookback, the spaces, and (every `sweep_every` pulls) the id sweep;
2. apply the pulled pages to the ledger in batches (each one transaction), classified by
   `ingest.pull.reconcile.classify`;
3. plan the sweep (`reconcile.plan_sweep`): fetch by id what the window missed, relink moved
   pages, restore, and — after the mass-delete guard — trash or delete what vanished;
4. one last transaction: sweep actions and the new cursor (the newest `version.when` read).
The cursor is written only after every page it covers is committed, so a crash (even kill -9)
at any point leaves a ledger that the next pull completes to the same state as a clean pull.
Pull never deletes rows: tombstones keep status 'trashed' or 'deleted'.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Any

from ingest.config import Settings
from ingest.errors import KBError, MassDeleteRefused
from ingest.pull import _airbyte as src
from ingest.pull.access import ACCESS_STREAMS, PulledAccess, read_access, write_access
from ingest.pull.access import report as access_report
from ingest.pull.attachments import STREAM as ATTACHMENTS
from ingest.pull.attachments import apply_attachments
from ingest.pull.comments import STREAM as COMMENTS
from ingest.pull.comments import apply_comments
from ingest.pull.macros import fetch_rendered
from ingest.pull.reconcile import SweepPlan, classify, plan_sweep, too_many_removals
from ingest.records import Ancestor, Page, PullReport, WorkItem
from ingest.storage.ledger import Ledger, PageState
from ingest.storage.lock import writer

Progress = Callable[[int, "int | None", str], None]
CURSOR_STREAM = "content"
BATCH = 200
FETCH_IDS_PER_READ = 100
DRY_RUN_CACHE = "dry-run."


def batched(items: Iterable[Any], n: int) -> Iterator[tuple[Any, ...]]:
    """itertools.batched (Python 3.12) for 3.11."""
    it = iter(items)
    while chunk := tuple(islice(it, n)):
        yield chunk


@dataclass
class _Run:
    """The state of one pull while it runs."""

    settings: Settings
    ledger: Ledger
    run_id: int | None
    spaces: tuple[str, ...]
    dry_run: bool
    progress: Progress | None
    counts: Counter[str] = field(default_factory=Counter)
    pulled: dict[str, int] = field(default_factory=dict)
    work: list[WorkItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    newest: str = ""
    users: dict[str, str] = field(default_factory=dict)  # accountId -> display name, seen this run
    access: PulledAccess = field(default_factory=PulledAccess)
    access_report: dict[str, Any] = field(default_factory=dict)

    def tell(self, done: int, total: int | None, what: str) -> None:
        if self.progress is not None:
            self.progress(done, total, what)

    def plan(self, item: WorkItem) -> None:
        if self.dry_run:
            self.work.append(item)

    def cache_name(self, name: str) -> str:
        """A dry run reads into caches of its own, dropped when it ends: it changes nothing."""
        return f"{DRY_RUN_CACHE}{name}" if self.dry_run else name

    def pages(self, cache: Any, stream: str, site: str, names: dict[str, str]) -> Iterator[Page]:
        """The cached records of `stream` as Pages, noting the people they name on the way."""
        for record in src.cached_records(cache, stream):
            self.users.update(src.user_names(record))
            self.access.note_record(record)
            yield src.to_page(record, site=site, space_names=names)


def cursor_key(spaces: Sequence[str]) -> str:
    """One cursor per space filter: a filtered pull must not move the whole site's cursor."""
    return CURSOR_STREAM + (f"@{','.join(sorted(spaces))}" if spaces else "")


def start_date(ledger: Ledger, settings: Settings, spaces: Sequence[str], full: bool) -> str:
    """Where the window starts: the cursor (the manifest subtracts the lookback), else start_date.
    A filtered pull without its own cursor may use the whole site's cursor (it covers every space)."""
    if full:
        return settings.pull.start_date
    value = ledger.get_cursor(cursor_key(spaces)) or (ledger.get_cursor(cursor_key(())) if spaces else None)
    return value or settings.pull.start_date


def pull(settings: Settings, *, spaces: Sequence[str] | None = None, full: bool = False,
         dry_run: bool = False, allow_mass_delete: bool = False, source: str | None = None,
         progress: Progress | None = None) -> PullReport:
    """Pull pages and blog posts into the ledger; returns what happened (see PullReport)."""
    started = time.monotonic()
    kind = source or settings.pull.source
    if kind not in ("manifest", "stock"):
        raise KBError(f"unknown source {kind!r}",
                      "use --source manifest (ours, incremental) or --source stock")
    scope = tuple(spaces or settings.confluence.spaces)
    meter = src.RequestMeter()
    lock = nullcontext() if dry_run else writer(settings.data_dir, "pull")
    with lock, Ledger(settings.data_dir) as ledger:
        run = _Run(settings, ledger, None if dry_run else ledger.start_run("pull"), scope, dry_run, progress)
        try:
            if kind == "stock":
                _pull_stock(run, meter, allow_mass_delete=allow_mass_delete)
            else:
                _pull_manifest(run, meter, full=full, allow_mass_delete=allow_mass_delete)
        except KBError as err:
            _finish(run, "failed", {"error": err.message, "requests": meter.requests})
            raise
        finally:
            if dry_run:
                src.drop_caches(settings, DRY_RUN_CACHE)
        report = _report(run, meter, time.monotonic() - started)
        _finish(run, "dry-run" if dry_run else "ok", {**report.to_dict(), "notes": list(report.notes)})
    return report


def _finish(run: _Run, status: str, report: dict[str, Any]) -> None:
    if run.run_id is not None:
        run.ledger.finish_run(run.run_id, status, report)


def _report(run: _Run, meter: Any, seconds: float) -> PullReport:
    c = run.counts
    return PullReport(seen=c["seen"], new=c["new"], changed=c["changed"], unchanged=c["unchanged"],
                      moved=c["moved"], deleted=c["deleted"], restored=c["restored"],
                      requests=meter.requests, bytes=meter.bytes, seconds=seconds, notes=tuple(run.notes),
                      work=tuple(run.work), access=run.access_report)


# --- our manifest ------------------------------------------------------------------------------
def _pull_manifest(run: _Run, meter: Any, *, full: bool, allow_mass_delete: bool) -> None:
    settings, ledger = run.settings, run.ledger
    sweeping = full or _sweep_due(ledger, settings.pull.sweep_every)  # --full: exact, whatever the lag
    # The access streams (spaces with their permissions, groups, members) on every pull: what they
    # hold changes without a new version of any page (ingest.pull.access).
    streams = ["pages", "blog_posts", *ACCESS_STREAMS] + (list(src.SWEEP_STREAMS) if sweeping else [])
    streams += ([COMMENTS] if settings.content.comments else []) + (
        [ATTACHMENTS] if settings.content.attachments else [])
    config = src.manifest_config(settings, start_date=start_date(ledger, settings, run.spaces, full),
                                 spaces=run.spaces)
    with src.opened_cache(settings, run.cache_name("manifest")) as cache:
        run.tell(0, None, f"reading {', '.join(streams)}")
        src.read(settings, src.open_source(settings, config), cache, streams, meter)
        names = src.space_names(cache)
        read_access(cache, run.access)
        known = ledger.page_states(run.spaces)
        site = src.site_url(settings)
        for stream in src.CONTENT_STREAMS:
            pages = run.pages(cache, stream, site, names)
            _apply_pages(run, pages, known, track_cursor=True)
        if settings.content.comments:
            apply_comments(run, cache)
        if settings.content.attachments:
            apply_attachments(run, cache)
        if sweeping:
            current = {e.id: e for e in map(src.to_sweep_entry, src.sweep_records(cache, "content_ids"))}
            run.access.restrictions.update((e.id, e.read) for e in current.values() if e.read is not None)
            trashed = {e.id: e for e in map(src.to_sweep_entry, src.sweep_records(cache, "trashed_ids"))
                       if not run.spaces or e.space_key in run.spaces}
    fetch_rendered(run, meter, sorted(run.pulled))
    if not sweeping:
        run.notes.append(f"no id sweep this run (sweep_every={settings.pull.sweep_every}): deletions and "
                         f"moves without a new version lag by at most {settings.pull.sweep_every} pulls")
        _commit_cursor(run, None)
        return
    plan = plan_sweep(known, run.pulled, current, trashed)
    if plan.fetch:
        _fetch_ids(run, meter, plan.fetch, known, names)
        fetch_rendered(run, meter, plan.fetch)
    n_current = sum(1 for k in known.values() if k.status == "current")
    refuse = too_many_removals(plan, n_current, settings.pull.max_delete_fraction) and not allow_mass_delete
    _commit_sweep(run, plan, known, apply_removals=not refuse)
    if refuse:
        raise MassDeleteRefused(
            f"refusing to remove {plan.removals} of {n_current} known pages (more than "
            f"max_delete_fraction={settings.pull.max_delete_fraction}); nothing was deleted",
            "check the site and the space filter; if the deletions are real, "
            "run `kb pull --allow-mass-delete`",
            {"removals": plan.removals, "known": n_current})


def _fetch_ids(run: _Run, meter: Any, ids: list[str], known: dict[str, PageState],
               names: dict[str, str]) -> None:
    """Read the bodies of pages the window missed (created or edited outside it), by id."""
    settings = run.settings
    site = src.site_url(settings)
    for chunk in batched(ids, FETCH_IDS_PER_READ):
        config = src.manifest_config(settings, start_date=settings.pull.start_date, ids=chunk)
        run.tell(0, len(ids), f"fetching {len(chunk)} pages by id")
        with src.opened_cache(settings, run.cache_name("manifest-ids")) as cache:
            src.read(settings, src.open_source(settings, config), cache, list(src.CONTENT_STREAMS), meter)
            for stream in src.CONTENT_STREAMS:
                pages = run.pages(cache, stream, site, names)
                _apply_pages(run, pages, known, track_cursor=False)


def _sweep_due(ledger: Ledger, every: int) -> bool:
    return every <= 1 or int(ledger.get_meta("pull_runs_since_sweep") or every) + 1 >= every


# --- applying ----------------------------------------------------------------------------------
def _apply_pages(run: _Run, pages: Iterable[Page], known: dict[str, PageState], *,
                 track_cursor: bool) -> None:
    """Classify and upsert pulled pages, BATCH per transaction; the cursor is not touched here."""
    for batch in batched(pages, BATCH):
        upserts: list[tuple[Page, str]] = []
        for page in batch:
            if run.spaces and page.space_key not in run.spaces:
                continue
            action = classify(page, known.get(page.id))
            run.counts["seen"] += 1
            run.access.restrictions[page.id] = (page.read_users, page.read_groups)
            run.counts[action] += 1
            run.pulled[page.id] = max(run.pulled.get(page.id, 0), page.version)
            if track_cursor and page.updated_at > run.newest:
                run.newest = page.updated_at
            if action != "unchanged":
                upserts.append((page, action))
                run.plan(WorkItem(action, page.id, page.kind, page.version, page.space_key, page.title))
        _write(run, upserts)
        run.tell(run.counts["seen"], None, "pages applied")


def _write(run: _Run, upserts: list[tuple[Page, str]]) -> None:
    """One transaction: the pages, and the descendants of those that moved (crash-safe together)."""
    moved = [page for page, action in upserts if action == "moved"]
    if run.dry_run:
        _relink_descendants(run, moved)
        return
    with run.ledger.tx():
        for page, _ in upserts:
            run.ledger.upsert_page(page, run.run_id)
        _relink_descendants(run, moved)


def _relink_descendants(run: _Run, moved: list[Page]) -> None:
    """A moved or renamed page moves its descendants too, without a new version of theirs (so no
    window or sweep sees them): re-derive their ancestors from the moved page's, in the ledger."""
    relinks: dict[str, Page] = {}
    for parent in sorted(moved, key=lambda p: len(p.ancestors)):
        for row in run.ledger.descendants(parent.id):
            child = relinks.get(row.id, row)
            if child.id in run.pulled:
                continue
            below = [a.id for a in child.ancestors].index(parent.id) + 1
            chain = (*parent.ancestors, Ancestor(parent.id, parent.title), *child.ancestors[below:])
            relinks[child.id] = replace(child, ancestors=chain, space_key=parent.space_key)
            if not run.dry_run:
                run.ledger.relink_page(child.id, child.title, parent.space_key, chain, run.run_id)
    run.counts["moved"] += len(relinks)
    for child in relinks.values():
        run.plan(WorkItem("moved", child.id, child.kind, title=child.title, note="(under a moved page)"))


def _commit_sweep(run: _Run, plan: SweepPlan, known: dict[str, PageState], *, apply_removals: bool) -> None:
    """Relinks, restores and (when allowed) removals, with the cursor: one transaction."""
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
        for e in plan.relink:
            run.ledger.relink_page(e.id, e.title, e.space_key, e.ancestors or (), run.run_id)
        for pid in plan.restore:
            run.ledger.set_page_status(pid, "current", run.run_id)
        if apply_removals:
            for pid in plan.trash:
                run.ledger.set_page_status(pid, "trashed", run.run_id)
            for pid in plan.delete + plan.purge:
                run.ledger.set_page_status(pid, "deleted", run.run_id)
        run.ledger.set_meta("pull_runs_since_sweep", "0")

    _commit_cursor(run, actions)


def _commit_cursor(run: _Run, actions: Callable[[], None] | None) -> None:
    """The last transaction of a run: pending actions and the cursor (never ahead of the pages)."""
    if run.dry_run:
        return
    key = cursor_key(run.spaces)
    with run.ledger.tx():
        if actions is not None:
            actions()
        else:
            since = int(run.ledger.get_meta("pull_runs_since_sweep") or 0)
            run.ledger.set_meta("pull_runs_since_sweep", str(since + 1))
        old = run.ledger.get_cursor(key) or ""
        if run.newest > old:
            run.ledger.set_cursor(key, run.newest, run.run_id)
        _save_users(run)
        result = write_access(run.ledger, run.access, run.users)
    run.access_report = access_report(result, run.access)
    if result.unresolved:
        run.notes.append(f"access: {len(result.unresolved)} pages could not be resolved and are hidden from "
                         "every principal (see `kb access PAGE_ID`): "
                         + ", ".join(f"{pid} ({why})" for pid, why in result.unresolved[:5]))


def _save_users(run: _Run) -> None:
    """Merge the names seen this run into ledger meta 'users' (what the index shows for a
    mention). Inside the run's last transaction."""
    if not run.users:
        return
    known = run.ledger.users()
    merged = {**known, **run.users}
    if merged != known:
        run.ledger.set_meta("users", json.dumps(merged, sort_keys=True, ensure_ascii=False))


# --- the stock connector -------------------------------------------------------------------------
def _pull_stock(run: _Run, meter: Any, *, allow_mass_delete: bool) -> None:
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
            _apply_pages(run, pages, known, track_cursor=False)
    listing = {pid: _Listed(pid, v) for pid, v in run.pulled.items()}
    plan = plan_sweep(known, run.pulled, listing, {})
    n_current = sum(1 for k in known.values() if k.status == "current")
    refuse = too_many_removals(plan, n_current, settings.pull.max_delete_fraction) and not allow_mass_delete
    run.notes.append("stock connector: full refresh, no labels or ancestors; vanished pages count as deleted")
    _commit_sweep(run, plan, known, apply_removals=not refuse)
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
