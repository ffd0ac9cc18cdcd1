"""`kb demo`: the whole product, offline, in one command.

The emulator with the bundled sample space starts in-process; the pipeline ingests it into a demo data
dir (rebuilt each run, beside the user's own knowledge base, never over it); sample questions from the
sample QA file are answered with citations; the emulator stops.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from ingest.config import Settings

FALLBACK_QUESTIONS = ["How do I get started?", "Who do I contact for help?"]


def _print(message: str = "", err: bool = False) -> None:
    print(message, file=sys.stderr if err else sys.stdout, flush=True)


def demo_questions(limit: int) -> list[str]:
    """The first `limit` questions of the sample QA file (all with 0)."""
    from emulator.corpus import SAMPLE_QA

    path = Path(SAMPLE_QA)
    if not path.is_file():
        return FALLBACK_QUESTIONS
    lines = [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    return lines[:limit] if limit else lines


def _fresh_dir(target: Path) -> None:
    """Empty the demo dir; refuse a non-empty dir that is not a knowledge base (a typo'd --data-dir)."""
    if target.exists():
        if any(target.iterdir()) and not (target / "ledger.sqlite3").exists():
            from ingest.errors import ConfigError

            raise ConfigError(f"{target} is not empty and holds no knowledge base",
                              "pass an empty or new directory to --data-dir")
        shutil.rmtree(target)
    target.mkdir(parents=True)


def demo_settings(settings: Settings, emu: Any, target: Path) -> Any:
    """The user's settings, pointed at the emulator and the demo data dir."""
    from ingest.config import ConfluenceSettings, DataSettings

    conf = ConfluenceSettings(**{**emu.confluence_settings(), "spaces": []})
    return settings.model_copy(update={"confluence": conf, "data": DataSettings(dir=target)})


def _progress(echo: Callable[..., None]) -> Callable[[int, int | None, str], None]:
    last = [0.0]

    def report(done: int, total: int | None, what: str) -> None:
        now = time.monotonic()
        if now - last[0] >= 2.0 or (total and done >= total):
            last[0] = now
            print(f"  {what}: {done}" + (f"/{total}" if total else ""), file=sys.stderr, flush=True)

    return report


def _ingest(settings: Settings, echo: Callable[..., None], embedder: Any = None) -> None:
    """Pull + index the sample space into the demo data dir."""
    from ingest.pipeline import ingest

    started = time.monotonic()
    report = ingest(settings, progress=_progress(echo), embedder=embedder)
    brief = ", ".join(f"{k} {v}" for k, v in report.to_dict().items() if not isinstance(v, (dict, list)))
    echo(f"ingested in {time.monotonic() - started:.1f}s: {brief}")


Ask = tuple[str, "str | None", str]  # (question, principal or None for the operator, a note after it)


def _ask_all(settings: Settings, asks: list[Ask], echo: Callable[..., None], embedder: Any = None) -> None:
    """Answer each question (as its principal), with citations, over one Searcher."""
    from retrieval.cli._output import format_answer
    from retrieval.query.answer import Answerer
    from retrieval.query.searcher import Searcher

    searcher = Searcher(settings, embedder=embedder)
    try:
        answerer = Answerer(searcher)
        for question, who, note in asks:
            answer = answerer.ask(question, principal=who)
            echo(f"\nQ (as {who}): {question}" if who else f"\nQ: {question}")
            for warning in answer.warnings:
                echo(f"warning: {warning}", err=True)
            echo(format_answer(answer))
            if note:
                echo(note)
    finally:
        searcher.close()


# Questions whose page only some people may read (lines of the sample QA file, each asked twice): the
# signing-keys runbook (restricted to corvid-security and two users), then a page of the private HR
# space. Public pages still answer the first for Mira, without the Vault path; the second is not
# found for Sam.
ACCESS_DEMO = (
    ("Under which Vault path are the gateway token signing keys kept?", "65625",
     "priya.raghunathan@corvid.example", "mira.okafor@corvid.example"),
    ("How many weeks of paid parental leave does a parent get?", "68002",
     "helga.lindqvist@corvid.example", "sam.adeyemi@corvid.example"),
)


def access_asks() -> list[Ask]:
    """Each access question for a person who may read its page, then for one who may not."""
    asks: list[Ask] = []
    for question, page_id, allowed, refused in ACCESS_DEMO:
        asks.append((question, allowed, ""))
        asks.append((question, refused, f"  ({refused} may not read page {page_id}: it is not among the "
                                        f"sources; `kb access {page_id} --as {refused}` says why)"))
    return asks


def run_demo(settings: Settings, *, questions: int = 6, data_dir: str | None = None,
             echo: Callable[..., None] = _print, embedder: Any = None) -> None:
    """Emulator up, ingest, sample questions answered with citations, emulator down.
    `embedder`: the bundled model unless given (tests pass a fake)."""
    for key, value in (("AIRBYTE_OFFLINE_MODE", "1"), ("DO_NOT_TRACK", "1"), ("HF_HUB_OFFLINE", "1"),
                       ("TRANSFORMERS_OFFLINE", "1"), ("ANONYMIZED_TELEMETRY", "False")):
        os.environ.setdefault(key, value)
    from emulator.testing import running_emulator

    target = Path(data_dir).expanduser().resolve() if data_dir else settings.data_dir / "demo"
    _fresh_dir(target)
    with running_emulator(sample=True) as emu:
        echo(f"confluence emulator (sample space) at {emu.url}")
        echo(f"demo knowledge base: {target}")
        local = demo_settings(settings, emu, target)
        _ingest(local, echo, embedder)
        asks: list[Ask] = [(q, None, "") for q in demo_questions(questions)]
        _ask_all(local, asks + access_asks(), echo, embedder)
    echo("\nemulator stopped. Ask more with: "
         f"kb ask \"...\"  (with KB_DATA__DIR={target})")
    echo(chat_page_line(settings, target))


def chat_page_line(settings: Settings, target: Path, key: str | None = None) -> str:
    """How to open the chat page on the demo's knowledge base: the command, the URL and a fresh key
    (an operator key: the demo's reader sees every page the ingest could read)."""
    import secrets
    import shlex

    key = key or f"demo-{secrets.token_urlsafe(9)}"
    server = settings.server
    return (f"Chat page: KB_DATA__DIR={shlex.quote(str(target))} KB_SERVER__API_KEYS={key}=operator "
            f"kb serve  then open http://{server.host}:{server.port}/ and enter the key {key}")


def register(app: typer.Typer, state: Any) -> None:
    """Attach `kb demo` to the root app."""

    @app.command("demo")
    def demo_cmd(
        questions: int = typer.Option(6, "--questions", "-n", help="sample questions to ask (0 = all)"),
        data_dir: str = typer.Option(None, "--data-dir", help="where the demo's knowledge base goes "
                                                              "(default: DATA_DIR/demo, rebuilt each run)"),
    ) -> None:
        """The whole demo, offline: emulator with the sample space, ingest, cited answers, emulator stopped."""  # noqa: E501 - typer lists the docstring with its line breaks in `kb --help`
        run_demo(state.settings(), questions=questions, data_dir=data_dir, echo=typer.echo)
