"""`kb search`, `kb ask`, `kb eval`: parse arguments, call the library, format the result.

`--json` prints one object on stdout; warnings and progress go to stderr.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any

import typer

from retrieval.cli._output import emit_json as _emit
from retrieval.cli._output import format_answer, format_hits


class Kind(str, Enum):  # noqa: UP042 - typer lists a str Enum's values as the option's choices
    """The kinds of content a knowledge base holds (a typo like `folder` is a usage error)."""

    page = "page"
    blogpost = "blogpost"
    attachment = "attachment"


def _filters(space: list[str] | None, kind: list[Kind] | None, label: list[str] | None,
             after: str | None, before: str | None, prop: list[str] | None = None) -> Any:
    from retrieval.query.searcher import Filters

    return Filters(spaces=tuple(space or ()), kinds=tuple(k.value for k in kind or ()),
                   labels=tuple(label or ()), properties=tuple(prop or ()),  # type: ignore[arg-type]
                   updated_after=after or None, updated_before=before or None)


PROP_HELP = "pages whose Page Properties say key=value, e.g. status=Approved (repeatable: all must hold)"


AS_HELP = ("as this person (email or account id): only the pages they may view, by Confluence's rules; "
           "without it you are the operator and see every page")


def principal_of(searcher: Any, as_user: str | None) -> Any:
    """The principal for `--as` (None: the operator, said once on stderr); an unknown person is
    warned about (they see what anonymous users see)."""
    if as_user is None:
        typer.echo("note: no --as given: searching as the operator (every page the ingest account "
                   "can read)", err=True)
        return None
    who = searcher.resolve_principal(as_user)
    if not who.known and who.label != "anonymous":
        typer.echo(f"warning: {as_user!r} is no one the pulls have seen: searching as anonymous", err=True)
    return who


def _check_query(query: str, what: str) -> str:
    """An empty query is a usage error (exit 2), not a request for arbitrary hits."""
    if not query.strip():
        raise typer.BadParameter(f"the {what} is empty; give some words to look for", param_hint=what)
    return query


def _check_labels(searcher: Any, labels: list[str] | None) -> None:
    """A label no page has is a usage error naming it (a typo otherwise reads as "no results")."""
    missing = searcher.missing_labels(labels or ())
    if missing:
        raise typer.BadParameter(f"no page has the label {', '.join(map(repr, missing))}",
                                 param_hint="--label")


@contextmanager
def _searching(state: Any, labels: list[str] | None, as_user: str | None) -> Iterator[tuple[Any, Any]]:
    """The Searcher of `kb search` and `kb ask` (closed after), its labels checked, and who asks."""
    from retrieval.query.searcher import Searcher

    searcher = Searcher(state.settings())
    try:
        _check_labels(searcher, labels)
        yield searcher, principal_of(searcher, as_user)
    finally:
        searcher.close()


def register(app: typer.Typer, state: Any) -> None:
    """Attach the retrieval commands to the root app."""
    _register_search(app, state)
    _register_ask(app, state)
    _register_eval(app, state)


def _register_search(app: typer.Typer, state: Any) -> None:
    @app.command("search")
    def search_cmd(
        query: str = typer.Argument(..., help="what to look for",
                                    callback=lambda v: _check_query(v, "query")),
        k: int = typer.Option(None, "--k", "-k", min=1, help="results (default: the retrieval.k setting)"),
        space: list[str] = typer.Option(None, "--space", "-s", help="only this space key (repeatable)"),
        kind: list[Kind] = typer.Option(None, "--kind", help="page, blogpost or attachment (repeatable)"),
        label: list[str] = typer.Option(None, "--label", help="pages with this label (repeatable)"),
        prop: list[str] = typer.Option(None, "--property", help=PROP_HELP),
        after: str = typer.Option(None, "--updated-after", help="ISO date: updated at or after"),
        before: str = typer.Option(None, "--updated-before", help="ISO date: updated at or before"),
        mode: str = typer.Option(None, "--mode", help="hybrid, dense or lexical"),
        as_user: str = typer.Option(None, "--as", help=AS_HELP),
        as_json: bool = typer.Option(False, "--json", help="one JSON object on stdout"),
    ) -> None:
        """Search the knowledge base (dense + lexical, fused)."""
        with _searching(state, label, as_user) as (searcher, who):
            hits = searcher.search(query, k=k, filters=_filters(space, kind, label, after, before, prop),
                                   mode=mode, principal=who)
        if as_json:
            _emit({"query": query, "hits": [h.to_dict() for h in hits],
                   "principal": "operator" if who is None else who.describe()})
        else:
            typer.echo(format_hits(hits))


def _register_ask(app: typer.Typer, state: Any) -> None:
    @app.command("ask")
    def ask_cmd(
        question: str = typer.Argument(..., help="a question in plain words",
                                       callback=lambda v: _check_query(v, "question")),
        k: int = typer.Option(None, "--k", "-k", min=1,
                              help="chunks to answer from (default: the retrieval.k setting)"),
        space: list[str] = typer.Option(None, "--space", "-s", help="only this space key (repeatable)"),
        kind: list[Kind] = typer.Option(None, "--kind", help="page, blogpost or attachment (repeatable)"),
        label: list[str] = typer.Option(None, "--label", help="pages with this label (repeatable)"),
        prop: list[str] = typer.Option(None, "--property", help=PROP_HELP),
        as_user: str = typer.Option(None, "--as", help=AS_HELP),
        as_json: bool = typer.Option(False, "--json", help="one JSON object on stdout"),
    ) -> None:
        """Answer a question with numbered citations (extractive offline; an LLM when the llm settings name one)."""  # noqa: E501 - typer lists the docstring with its line breaks in `kb --help`
        from retrieval.query.answer import Answerer

        with _searching(state, label, as_user) as (searcher, who):
            answer = Answerer(searcher).ask(question, filters=_filters(space, kind, label, None, None, prop),
                                            k=k, principal=who)
        for warning in answer.warnings:
            typer.echo(f"warning: {warning}", err=True)
        if as_json:
            _emit(answer.to_dict())
        else:
            typer.echo(format_answer(answer))


def _register_eval(app: typer.Typer, state: Any) -> None:
    @app.command("eval")
    def eval_cmd(
        qa: str = typer.Option(..., "--qa", help="QA file, JSON Lines {question, answers?, gold}; gold is "
                               "a list of page ids or {page id: grade} (graded, BEIR-style qrels)"),
        k: int = typer.Option(10, "--k", "-k", help="results per question"),
        mode: str = typer.Option(None, "--mode", help="hybrid, dense or lexical"),
        limit: int = typer.Option(None, "--limit", help="only the first N questions"),
        no_answer: bool = typer.Option(False, "--no-answer", help="score retrieval alone: skip the "
                                       "extractive answer (about 10x faster); answer_hit is null"),
        as_json: bool = typer.Option(False, "--json", help="one JSON object on stdout (progress on stderr)"),
    ) -> None:
        """Measure retrieval quality over a QA file: recall@1/5/10, MRR@10, nDCG@10 over pages, answer hit, latency."""  # noqa: E501 - typer lists the docstring with its line breaks in `kb --help`
        from retrieval.query.evaluate import evaluate

        def progress(done: int, total: int | None) -> None:
            if done % 25 == 0 or done == total:
                typer.echo(f"  {done}/{total} questions…" if total else f"  {done} questions…", err=True)

        report = evaluate(state.settings(), qa, k=k, mode=mode, limit=limit, progress=progress,
                          with_answers=not no_answer)
        if as_json:
            _emit(report.to_dict())
        else:
            typer.echo(f"mode {report.mode}, {report.questions} questions")
            for key, value in report.to_dict().items():
                typer.echo(f"  {key:<10} {'not measured (--no-answer)' if value is None else value}")
