"""Ingest-side commands of `kb`: pull, ingest, reindex, status, inspect.

Each command parses arguments, calls the library (`ingest.pull`, `ingest.pipeline`, ...) and
formats the result: `--json` on stdout for scripts, progress and warnings on stderr.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from retrieval.cli._output import RichProgress, emit_json, safe, stderr_progress

if TYPE_CHECKING:
    from ingest.config import Settings


def register(app: typer.Typer, state: Any) -> None:
    """Attach the ingest commands to the root app. `state.settings()` loads Settings once."""

    # --- kb pull (issue: incremental pull) -------------------------------------------------------
    @app.command("pull")
    def pull_cmd(
        space: list[str] = typer.Option(None, "--space", "-s", help="only this space key (repeatable)"),
        full: bool = typer.Option(False, "--full", help="ignore the cursor and read everything "
                                  "(and sweep, whatever sweep_every)"),
        dry_run: bool = typer.Option(False, "--dry-run", help="print the work list; change nothing"),
        as_json: bool = typer.Option(False, "--json", help="one JSON object on stdout"),
        source: str = typer.Option(None, "--source", help="manifest (ours, incremental) or stock"),
        allow_mass_delete: bool = typer.Option(False, "--allow-mass-delete",
                                               help="apply deletions above [pull] max_delete_fraction"),
    ) -> None:
        """Pull pages and blog posts from Confluence into the cache and the ledger."""
        from ingest.pull.run import iter_work, pull

        report = pull(state.settings(), spaces=space or None, full=full, dry_run=dry_run,
                      allow_mass_delete=allow_mass_delete, source=source, progress=stderr_progress())
        if as_json:
            emit_json(report.to_dict())
            return
        if dry_run:
            for line in iter_work(report):
                typer.echo(line)
        for note in report.notes:
            typer.echo(f"note: {note}", err=True)
        typer.echo(" ".join(f"{k}={v}" for k, v in report.to_dict().items()))

    @app.command("check")
    def check_cmd(as_json: bool = typer.Option(False, "--json", help="one JSON object on stdout")) -> None:
        """Check the connection to Confluence: deployment, version, user, readable spaces, and whether
        space permissions and group members can be read. A failure says why in one line (exit 3)."""
        from ingest.errors import SourceError
        from ingest.pull.check import check

        report = check(state.settings())
        if as_json:
            emit_json(report.to_dict())
            if not report.ok:
                raise typer.Exit(SourceError.exit_code)
            return
        if not report.ok:
            raise SourceError(f"check failed ({report.kind}): {report.error}", report.hint,
                              {"kind": report.kind})
        yes = {True: "yes", False: "no (pages stay hidden until it can)"}
        for key, value in (("deployment", report.deployment), ("url", report.url),
                           ("version", report.version), ("user", report.user),
                           ("spaces readable", report.spaces),
                           ("space permissions", yes[report.space_permissions]),
                           ("group members", yes[report.group_members])):
            typer.echo(f"{key}: {safe(str(value))}")

    _register_index_commands(app, state)  # kb ingest / status / reindex (INDEX)
    _register_inspect_command(app, state)  # kb inspect (CLEAN)


# --- kb ingest / status / reindex (issue: index) ---------------------------------------------------
def _register_index_commands(app: typer.Typer, state: Any) -> None:
    @app.command("ingest")
    def ingest_cmd(
        space: list[str] = typer.Option(None, "--space", "-s", help="only this space key (repeatable)"),
        full: bool = typer.Option(False, "--full",
                                  help="re-read everything and redo every page (vectors reused)"),
        as_json: bool = typer.Option(False, "--json", help="one JSON object on stdout"),
        allow_mass_delete: bool = typer.Option(False, "--allow-mass-delete",
                                               help="apply deletions above [pull] max_delete_fraction"),
    ) -> None:
        """Pull from Confluence, then clean, chunk, embed and store what changed."""
        from ingest.pipeline import ingest

        with RichProgress() as progress:
            report = ingest(state.settings(), spaces=space or None, full=full,
                            allow_mass_delete=allow_mass_delete, progress=progress)
        data = report.to_dict()
        if as_json:
            emit_json(data)
            return
        _echo_failures(data)
        p, c = data["pages"], data["chunks"]
        typer.echo(f"pages: new={p['new']} changed={p['changed']} unchanged={p['unchanged']} "
                   f"moved={p['moved']} deleted={p['deleted']} failed={p['failed']}")
        typer.echo(f"chunks: embedded={c['embedded']} reused={c['reused']} deleted={c['deleted']} "
                   f"written={c['written']}")
        typer.echo(f"time: {data['seconds']} s ({data['pages/s']} pages/s, {data['chunks/s']} chunks/s); "
                   f"pull {data['pull']['seconds']} s")

    @app.command("status")
    def status_cmd(as_json: bool = typer.Option(False, "--json", help="one JSON object on stdout")) -> None:
        """What the knowledge base holds: pages, chunks, spaces, last run, cursor, model, collection; the
        sync loop (`kb sync`, `kb serve --sync`: alive or not, last poll, errors) and freshness (each
        space's last poll and full sweep, the oldest change that may be missing, pages that failed)."""
        from ingest.pipeline import status

        data = status(state.settings())
        if as_json:
            emit_json(data)
            return
        typer.echo(f"data dir: {data['data_dir']}")
        typer.echo(f"pages: {data['pages']} (indexed {data.get('pages_indexed', 0)}, "
                   f"tombstones {data.get('tombstones', 0)}); chunks: {data['chunks']}")
        for key, row in data["spaces"].items():
            typer.echo(f"  space {safe(key)}: {row['pages']} pages, {row['indexed']} indexed")
        typer.echo(f"model: {data['model']}; collection: {data['active_collection'] or '(none yet)'}"
                   f" ({data.get('chroma', 'embedded')})")
        for stream, value in data["cursor"].items():
            typer.echo(f"cursor {stream}: {value}")
        if access := data.get("access"):
            typer.echo(f"access: {access['spaces_with_rules']} spaces with permissions, {access['groups']} "
                       f"groups, {access['principals']} people, {access['classes']} access classes; "
                       f"{access['unresolved_pages']} pages unresolved (hidden from everyone but the "
                       "operator)")
        run = data["last_run"]
        typer.echo("last run: " + (f"{run['kind']} #{run['id']} {run['status']} at {run['started']} "
                                   f"({run['seconds']} s)" if run else "none"))
        for line in _freshness_lines(data.get("sync"), data.get("freshness")):
            typer.echo(line)

    @app.command("reindex")
    def reindex_cmd(as_json: bool = typer.Option(False, "--json", help="one JSON object on stdout")) -> None:
        """Rebuild the index from the ledger into a new collection, switch to it, drop the old one."""
        from ingest.pipeline import reindex

        with RichProgress() as progress:
            report = reindex(state.settings(), progress=progress)
        data = report.to_dict()
        if as_json:
            emit_json(data)
            return
        _echo_failures(data)
        typer.echo(f"reindexed into {data['new_collection']} (was {data['old_collection'] or 'none'}): "
                   f"{data['chunks']['written']} chunks, {data['chunks']['embedded']} embedded, "
                   f"{data['chunks']['reused']} reused, {data['seconds']} s")


def _freshness_lines(sync: dict[str, Any] | None, fresh: dict[str, Any] | None) -> list[str]:
    """`kb status`'s sync and freshness lines (the --json keys `sync` and `freshness`)."""
    from ingest.durations import format_duration as dur

    out = []
    if sync:
        alive = f"running (pid {sync['pid']})" if sync.get("alive") else sync.get("state", "?")
        out.append(f"sync: {alive}, {sync['mode']} mode, every {dur(sync['every'])}; polls {sync['polls']} "
                   f"({sync['polls_failed']} failed, {sync['consecutive_failures']} in a row)"
                   + (f"; next {sync['next_poll']}" if sync.get("alive") and sync.get("next_poll") else "")
                   + (" OVERDUE" if sync.get("overdue") else ""))
        last = sync.get("last_poll") or {}
        if last:
            out.append(f"  last poll: {last.get('result')} at {last.get('started')} ({last.get('seconds')} s)"
                       + (f": {safe(last.get('error', ''))}" if last.get("error") else ""))
            if last.get("guidance"):
                out.append(f"    hint: {safe(last['guidance'])}")
        if sync.get("exit_reason") and not sync.get("alive"):
            out.append(f"  ended: {safe(sync['exit_reason'])}")
    if fresh:
        lag = fresh.get("lag_seconds")
        out.append("freshness: " + (f"changes since {fresh['oldest_unsynced']} may be missing (lag "
                                    f"{dur(lag)})" if lag is not None else "never synced"))
        for key, row in fresh.get("spaces", {}).items():
            out.append(f"  space {safe(key)}: last poll {row['last_poll'] or 'never'}, last full sweep "
                       f"{row['last_sweep'] or 'never'} ({safe(row['sweep_reason'])})")
        for page in fresh.get("failed_pages", []):
            out.append(f"  failed page {safe(page['page_id'])} {safe(repr(page.get('title', '')))}: "
                       f"{safe(page['error'])}")
    return out


def _echo_failures(data: dict[str, Any]) -> None:
    for failure in data.get("failures", []):
        typer.echo(f"warning: page {safe(failure['page_id'])} skipped: {safe(failure['error'])}", err=True)
    for warning in data.get("warnings", []):
        typer.echo(f"warning: {safe(warning['warning'])}", err=True)


# --- kb inspect (issue: clean and chunk) -----------------------------------------------------------
def _register_inspect_command(app: typer.Typer, state: Any) -> None:
    @app.command("inspect")
    def inspect_cmd(
        page_id: str = typer.Argument(None, help="a page id from the ledger (after `kb pull`)"),
        file: str = typer.Option(None, "--file", "-f", help="a storage-format XHTML file instead"),
        as_json: bool = typer.Option(False, "--json", help="one JSON object on stdout"),
        window: bool = typer.Option(True, "--window/--no-window", help="count the embedder's window too"),
    ) -> None:
        """Show a page's cleaned blocks and its chunks with their token counts."""
        from ingest.text.inspect import inspect_page

        settings = state.settings()
        page, users = _inspect_source(settings, page_id, file)
        data = inspect_page(page, settings, users=users, window=window)
        if as_json:
            emit_json(data)
            return
        b = data["budgets"]
        typer.echo(f"page {safe(page.id)} {safe(repr(page.title))} ({safe(page.space_key)}, v{page.version}, "
                   f"{data['page']['bytes']} bytes): {len(data['blocks'])} blocks, "
                   f"{len(data['chunks'])} chunks; budgets: {b['chunk_tokens']} tiktoken tokens, "
                   f"window {b['window_tokens'] or 'off'}; chunker {data['fingerprint']}")
        typer.echo("\nblocks:")
        for i, block in enumerate(data["blocks"]):
            typer.echo(f"[{i}] {block['kind']}  {safe(' › '.join(block['heading_path'])) or '(top)'}"
                       + (f"  header: {safe(block['table_header'])}" if block.get("table_header") else ""))
            typer.echo(_indent(safe(block["text"], lines=True)))
        typer.echo("\nchunks:")
        for c in data["chunks"]:
            win = f", window {c['window']}/{b['window_tokens']}" if c["window"] is not None else ""
            typer.echo(f"[{c['id']}] {c['tokens']}/{b['chunk_tokens']} tokens{win}  {safe(c['header'])}")
            typer.echo(_indent(safe(c["text"], lines=True)))
        for problem in data["problems"]:
            typer.echo(f"warning: {safe(problem)}", err=True)


def _inspect_source(settings: Settings, page_id: str | None, file: str | None) -> tuple[Any, Any]:
    """The page to inspect, from --file or the ledger, and the ledger's user map (if any)."""
    from pathlib import Path

    from ingest.errors import KBError
    from ingest.records import Page

    if file:
        path = Path(file)
        if not path.is_file():
            raise KBError(f"no such file: {file}", "pass a storage-format XHTML file to --file")
        body = path.read_bytes().decode("utf-8", "replace")
        return Page(page_id or path.stem, "page", "FILE", path.name, "", 1, "", body_html=body), None
    if not page_id:
        raise KBError("nothing to inspect", "give a PAGE_ID (from the ledger) or --file page.xml")
    from ingest.storage.ledger import Ledger

    path = Path(settings.data_dir) / Ledger.FILENAME
    if not path.is_file():
        raise KBError(f"no ledger at {path}", "run `kb pull` first, or use --file page.xml")
    with Ledger(settings.data_dir, readonly=True) as ledger:
        page = ledger.get_page(page_id)
        users = ledger.users()
    if page is None:
        raise KBError(f"page {page_id} is not in the ledger", "check the id, run `kb pull`, or use --file")
    return page, users or None


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.split("\n"))
