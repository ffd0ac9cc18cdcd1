"""`kb access PAGE_ID --as USER`: why that person may or may not read that page, step by step."""

from __future__ import annotations

from typing import Any

import typer

from retrieval.cli._output import emit_json as _emit


def register(app: typer.Typer, state: Any) -> None:
    @app.command("access")
    def access_cmd(
        page_id: str = typer.Argument(..., help="the page or blog post id"),
        as_user: str = typer.Option(..., "--as", help="the person (email or account id), or 'anonymous'"),
        as_json: bool = typer.Option(False, "--json", help="one JSON object on stdout"),
    ) -> None:
        """Explain whether a person may read a page: the space rule, then each read restriction on the
        page and its ancestors (Confluence's rule: all of them must let the person in). Exit code 0
        when they may, 1 when they may not."""
        from ingest.errors import KBError, NotReady
        from ingest.storage.access import LedgerAccess
        from ingest.storage.ledger import Ledger

        settings = state.settings()
        if not (settings.data_dir / Ledger.FILENAME).is_file():
            raise NotReady(f"no knowledge base at {settings.data_dir}", "run `kb ingest` first")
        with Ledger(settings.data_dir, readonly=True) as ledger:
            access = LedgerAccess(ledger)
            who = access.principal(as_user)
            found = access.explain(page_id, who)
        if found is None:
            raise KBError(f"no page {page_id} in the knowledge base",
                          "check the id (`kb search --json` shows page_id), or pull first")
        if as_json:
            _emit(found.to_dict())
        else:
            typer.echo("\n".join(found.lines()))
        if not found.allowed:
            raise typer.Exit(1)
