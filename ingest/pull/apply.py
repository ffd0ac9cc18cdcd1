"""Applying pulled pages to the ledger, and the state of one pull while it runs (`PullRun`).

`apply_pages` classifies each page (`reconcile.classify`) and upserts BATCH of them per
transaction; a page that moved (title, space, ancestors) moves its descendants with it, in the
same transaction. The cursor is not touched here: `ingest.pull.run` commits it last.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Any

from ingest.config import Settings
from ingest.pull import _airbyte as src
from ingest.pull.access import PulledAccess
from ingest.pull.reconcile import classify
from ingest.records import Ancestor, Page, WorkItem
from ingest.storage.ledger import Ledger, PageState

Progress = Callable[[int, "int | None", str], None]
BATCH = 200
DRY_RUN_CACHE = "dry-run."


def batched(items: Iterable[Any], n: int) -> Iterator[tuple[Any, ...]]:
    """itertools.batched (Python 3.12) for 3.11."""
    it = iter(items)
    while chunk := tuple(islice(it, n)):
        yield chunk


@dataclass
class PullRun:
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
    newest_by_kind: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # accountId -> display name, seen this run
    access: PulledAccess = field(default_factory=PulledAccess)
    access_report: dict[str, Any] = field(default_factory=dict)
    swept: dict[str, str] = field(default_factory=dict)  # space -> why the count gate swept it
    audit_since: int | None = None  # the next audit read's start (epoch ms), once this run read it

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

def apply_pages(run: PullRun, pages: Iterable[Page], known: dict[str, PageState], *,
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
            if track_cursor and page.updated_at > run.newest_by_kind.get(page.kind, ""):
                run.newest_by_kind[page.kind] = page.updated_at
            if action != "unchanged":
                upserts.append((page, action))
                run.plan(WorkItem(action, page.id, page.kind, page.version, page.space_key, page.title))
        _write(run, upserts)
        run.tell(run.counts["seen"], None, "pages applied")


def _write(run: PullRun, upserts: list[tuple[Page, str]]) -> None:
    """One transaction: the pages, and the descendants of those that moved (crash-safe together)."""
    moved = [page for page, action in upserts if action == "moved"]
    if run.dry_run:
        _relink_descendants(run, moved)
        return
    with run.ledger.tx():
        for page, _ in upserts:
            run.ledger.upsert_page(page, run.run_id)
        _relink_descendants(run, moved)


def _relink_descendants(run: PullRun, moved: list[Page]) -> None:
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
