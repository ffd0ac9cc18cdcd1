"""`kb search`, `kb ask`, `kb eval`, `kb demo`: parse arguments, call the library, format the result.

`--json` prints one object on stdout; warnings and progress go to stderr. The demo itself lives in
`retrieval/demo.py` (`run_demo`): the emulator with the sample space, an
ingest into a fresh demo data dir, the sample questions answered with citations, the emulator stopped.
"""

from __future__ import annotations

from typing import Any

import typer

from ingest.cli import emit_json as _emit


def _filters(space: list[str] | None, kind: list[str] | None, label: list[str] | None,
             after: str | None, before: str | None) -> Any:
    from retrieval.search import Filters

    return Filters(spaces=tuple(space or ()), kinds=tuple(kind or ()), labels=tuple(label or ()),
                   updated_after=after or None, updated_before=before or None)


def format_answer(answer: Any) -> str:
    """The answer, then its numbered citations with title and URL (or the closest pages)."""
    lines = [answer.text]
    if answer.citations:
        lines.append("")
        lines.extend(f"  [{c.number}] {c.title} — {c.url}" for c in answer.citations)
    return "\n".join(lines)


def format_hits(hits: list[Any]) -> str:
    lines = []
    for i, hit in enumerate(hits, start=1):
        where = " › ".join(p for p in (hit.title, hit.heading_path) if p)
        ranks = ", ".join(f"{m} #{r}" for m, r in sorted(hit.ranks.items()))
        snippet = " ".join(hit.text.split())
        snippet = snippet[:200] + ("…" if len(snippet) > 200 else "")
        lines += [f"{i}. {where}  ({hit.space_key}, score {hit.score:.4f}; {ranks})", f"   {hit.url}",
                  f"   {snippet}"]
    return "\n".join(lines) if lines else "no results"


def register(app: typer.Typer, state: Any) -> None:
    """Attach the retrieval commands to the root app."""
    _register_search(app, state)
    _register_ask(app, state)
    _register_eval(app, state)
    _register_demo(app, state)


def _register_search(app: typer.Typer, state: Any) -> None:
    @app.command("search")
    def search_cmd(
        query: str = typer.Argument(..., help="what to look for"),
        k: int = typer.Option(None, "--k", "-k", help="results (default: the retrieval.k setting)"),
        space: list[str] = typer.Option(None, "--space", "-s", help="only this space key (repeatable)"),
        kind: list[str] = typer.Option(None, "--kind", help="page or blogpost (repeatable)"),
        label: list[str] = typer.Option(None, "--label", help="pages with this label (repeatable)"),
        after: str = typer.Option(None, "--updated-after", help="ISO date: updated at or after"),
        before: str = typer.Option(None, "--updated-before", help="ISO date: updated at or before"),
        mode: str = typer.Option(None, "--mode", help="hybrid, dense or lexical"),
        as_json: bool = typer.Option(False, "--json", help="one JSON object on stdout"),
    ) -> None:
        """Search the knowledge base (dense + lexical, fused)."""
        from retrieval.search import Searcher

        searcher = Searcher(state.settings())
        try:
            hits = searcher.search(query, k=k, filters=_filters(space, kind, label, after, before), mode=mode)
        finally:
            searcher.close()
        if as_json:
            _emit({"query": query, "hits": [h.to_dict() for h in hits]})
        else:
            typer.echo(format_hits(hits))


def _register_ask(app: typer.Typer, state: Any) -> None:
    @app.command("ask")
    def ask_cmd(
        question: str = typer.Argument(..., help="a question in plain words"),
        k: int = typer.Option(None, "--k", "-k", help="chunks to answer from (default: the retrieval.k setting)"),
        space: list[str] = typer.Option(None, "--space", "-s", help="only this space key (repeatable)"),
        kind: list[str] = typer.Option(None, "--kind", help="page or blogpost (repeatable)"),
        label: list[str] = typer.Option(None, "--label", help="pages with this label (repeatable)"),
        as_json: bool = typer.Option(False, "--json", help="one JSON object on stdout"),
    ) -> None:
        """Answer a question with numbered citations (extractive offline; an LLM when the llm settings name one)."""
        from retrieval.answer import Answerer
        from retrieval.search import Searcher

        searcher = Searcher(state.settings())
        try:
            answer = Answerer(searcher).ask(question, filters=_filters(space, kind, label, None, None), k=k)
        finally:
            searcher.close()
        for warning in answer.warnings:
            typer.echo(f"warning: {warning}", err=True)
        if as_json:
            _emit(answer.to_dict())
        else:
            typer.echo(format_answer(answer))


def _register_eval(app: typer.Typer, state: Any) -> None:
    @app.command("eval")
    def eval_cmd(
        qa: str = typer.Option(..., "--qa", help="QA file, JSON Lines {question, answers?, gold}"),
        k: int = typer.Option(10, "--k", "-k", help="results per question"),
        mode: str = typer.Option(None, "--mode", help="hybrid, dense or lexical"),
        limit: int = typer.Option(None, "--limit", help="only the first N questions"),
        as_json: bool = typer.Option(False, "--json", help="one JSON object on stdout"),
    ) -> None:
        """Measure retrieval quality over a QA file: recall@1/5/10, MRR@10, answer hit, latency."""
        from retrieval.evaluate import evaluate

        def progress(done: int, total: int | None) -> None:
            if not as_json and done % 25 == 0:
                typer.echo(f"  {done} questions…", err=True)

        report = evaluate(state.settings(), qa, k=k, mode=mode, limit=limit, progress=progress)
        if as_json:
            _emit(report.to_dict())
        else:
            typer.echo(f"mode {report.mode}, {report.questions} questions")
            for key, value in report.to_dict().items():
                typer.echo(f"  {key:<10} {value}")


def _register_demo(app: typer.Typer, state: Any) -> None:
    @app.command("demo")
    def demo_cmd(
        questions: int = typer.Option(6, "--questions", "-n", help="sample questions to ask (0 = all)"),
        data_dir: str = typer.Option(None, "--data-dir", help="where the demo's knowledge base goes "
                                                              "(default: DATA_DIR/demo, rebuilt each run)"),
    ) -> None:
        """The whole demo, offline: emulator with the sample space, ingest, cited answers, emulator stopped."""
        from retrieval.demo import run_demo

        run_demo(state.settings(), questions=questions, data_dir=data_dir, echo=typer.echo)
