"""What every `kb` command shares: the `--json` writer, progress on stderr, hits and answers as text.

Human output passes Confluence-sourced text through `safe()`: a title with CR, LF, ESC, BEL or BS
would otherwise forge lines or colours in the operator's terminal. `--json` keeps the text as it is
(JSON escapes control characters itself).
"""

from __future__ import annotations

import json
import re
from typing import Any

import typer

# C0 and C1 controls, DEL, and the bidi overrides/isolates that reorder what a terminal shows.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


_NAMED = {"\r": "\\r", "\n": "\\n", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    if match.group() in _NAMED:
        return _NAMED[match.group()]
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: Any, *, lines: bool = False) -> str:
    """`text` for a terminal: every control character shown as an escape (`\\x07`), so page text
    cannot move the cursor, erase, recolour or forge lines. `lines=True` keeps LF and TAB (bodies)."""
    return (_CONTROL_KEEP_LINES if lines else _CONTROL).sub(_escape, str(text))


def emit_json(obj: Any) -> None:
    """One JSON object on stdout, UTF-8 as is (titles stay readable); every `--json` command uses it."""
    typer.echo(json.dumps(obj, ensure_ascii=False, default=str))


def stderr_progress() -> Any:
    """A progress callable that writes one short line on stderr per step (at most ~1 per second)."""
    import sys
    import time

    last = [0.0]

    def tell(done: int, total: int | None, what: str) -> None:
        now = time.monotonic()
        if now - last[0] < 1.0 and done:
            return
        last[0] = now
        print(f"pull: {what} {done}{'/' + str(total) if total else ''}", file=sys.stderr, flush=True)

    return tell


class RichProgress:
    """A rich progress bar on stderr, one task per phase; a plain callable for the library."""

    def __enter__(self) -> Any:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self._tasks: dict[str, Any] = {}
        self._bar.__enter__()
        return self

    def __call__(self, done: int, total: int | None, what: str) -> None:
        phase = what.split(":")[0] if what else "work"
        if phase not in self._tasks:
            self._tasks[phase] = self._bar.add_task(phase, total=total)
        self._bar.update(self._tasks[phase], completed=done, total=total, description=what[:40])

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(None, None, None)


def format_answer(answer: Any) -> str:
    """The answer, then its numbered citations with title and URL (or the closest pages)."""
    lines = [safe(answer.text, lines=True)]
    if answer.citations:
        lines.append("")
        lines.extend(f"  [{c.number}] {safe(c.title)} — {safe(c.link or c.url)}" for c in answer.citations)
    return "\n".join(lines)


def format_hits(hits: list[Any]) -> str:
    lines = []
    for i, hit in enumerate(hits, start=1):
        where = safe(" › ".join(p for p in (hit.title, hit.heading_path) if p))
        ranks = ", ".join(f"{m} #{r}" for m, r in sorted(hit.ranks.items()))
        snippet = safe(" ".join(hit.text.split()))
        snippet = snippet[:200] + ("…" if len(snippet) > 200 else "")
        lines += [f"{i}. {where}  ({safe(hit.space_key)}, score {hit.score:.4f}; {ranks})",
                  f"   {safe(hit.link)}",
                  f"   {snippet}"]
    return "\n".join(lines) if lines else "no results"
