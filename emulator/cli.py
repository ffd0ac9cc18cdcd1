"""`kb emulator`: run the local Confluence Cloud (REST v1) emulator until SIGINT/SIGTERM.

The first stdout line is machine-readable:
`confluence emulator: url=https://127.0.0.1:PORT domain=127.0.0.1:PORT email=EMAIL token=TOKEN ca=/path/ca.pem`
(`ca=` is empty with --http). With `--datacenter` (Confluence Data Center's REST: bearer personal
access token, context path, start/limit paging, userKey/username) the same keys come first, `token=`
being the personal access token, then `deployment=datacenter context=PATH username=NAME tz=ZONE`.
Heavy imports happen inside the command, so `--help` stays fast.
"""  # noqa: E501 - the machine-readable line is quoted whole, as the emulator prints it

from __future__ import annotations

from typing import Any

import typer


def register(app: typer.Typer, state: Any) -> None:
    @app.command("emulator")
    def emulator_cmd(
        port: int = typer.Option(0, "--port", help="port on 127.0.0.1 (0 = a free one)"),
        http: bool = typer.Option(False, "--http", help="plain HTTP instead of HTTPS"),
        corpus: str = typer.Option(None, "--corpus", help="a corpus file (JSON Lines) to serve; "
                                   "spaces.jsonl and groups.jsonl beside it are read too"),
        pages: int = typer.Option(0, "--pages", help="serve N generated pages"),
        blogposts: int = typer.Option(0, "--blogposts", help="and M generated blog posts"),
        seed: int = typer.Option(0, "--seed", help="seed of the generated corpus"),
        sample: bool = typer.Option(True, "--sample/--no-sample",
                                    help="the bundled sample space (the default)"),
        extras: bool = typer.Option(False, "--extras",
                                    help="with the sample: also its attachments (one of each type), comments "
                                    "and macro pages (questions: emulator/sample/qa_extras.jsonl)"),
        email: str = typer.Option(None, "--email", help="the login email (default: generated)"),
        token: str = typer.Option(None, "--token", envvar="KB_EMULATOR_TOKEN",
                                  help="the API token (with --datacenter: the personal access token) "
                                  "to accept (default: random)"),
        datacenter: bool = typer.Option(False, "--datacenter",
                                        help="serve Confluence Data Center's REST instead of Cloud's: "
                                        "bearer PAT, context path, start/limit paging, userKey/username"),
        context_path: str = typer.Option("/confluence", "--context-path",
                                         help="with --datacenter: the site's context path ('' for none)"),
        timezone: str = typer.Option("UTC", "--timezone",
                                     help="the time zone CQL dates are read in (a server's own zone)"),
    ) -> None:
        """Run a local Confluence Cloud (REST v1) emulator with an admin API under /__admin/ (or, with
        --datacenter, a Confluence Data Center one)."""
        run(port=port, http=http, corpus=corpus, pages=pages, blogposts=blogposts, seed=seed,
            sample=sample, email=email, token=token, datacenter=datacenter, context_path=context_path,
            timezone=timezone, extras=extras)


def run(*, port: int = 0, http: bool = False, corpus: str | None = None, pages: int = 0,
        blogposts: int = 0, seed: int = 0, sample: bool = True, email: str | None = None,
        token: str | None = None, datacenter: bool = False, context_path: str = "/confluence",
        timezone: str = "UTC", extras: bool = False) -> None:
    """Start the emulator, print its line, serve until SIGINT/SIGTERM, stop cleanly."""
    import signal
    import sys
    import threading
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from emulator.testing import DEFAULT_EMAIL, start_emulator

    context = "/" + context_path.strip().strip("/") if context_path.strip().strip("/") else ""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        print(f"error: --timezone {timezone!r} is not a time zone\nhint: use an IANA name such as UTC or "
              "America/New_York", file=sys.stderr)
        raise SystemExit(2) from None
    access: dict[str, Any] = {}
    if extras and corpus is None and sample:
        from emulator import corpus as bundled

        corpus = bundled.sample_with_extras()  # type: ignore[assignment]
        access = {"spaces": bundled.read_spaces(bundled.SAMPLE_SPACES),
                  "users": bundled.read_users(bundled.SAMPLE_USERS),
                  "groups": bundled.read_groups(bundled.SAMPLE_GROUPS)}
    try:
        handle = start_emulator(corpus, sample=sample, pages=pages, blogposts=blogposts, seed=seed,
                                http=http, port=port, email=email or DEFAULT_EMAIL, token=token,
                                datacenter=datacenter, context_path=context, timezone=timezone, **access)
    except FileNotFoundError as exc:
        print(f"error: corpus file not found: {exc.filename or exc}\n"
              "hint: pass a JSON Lines corpus with --corpus, or use --sample / --pages N", file=sys.stderr)
        raise SystemExit(1) from None
    except (OSError, ValueError) as exc:
        print(f"error: the emulator could not start: {exc}\n"
              "hint: pick another --port (0 = a free one) or check the corpus file", file=sys.stderr)
        raise SystemExit(1) from None
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    extra = (f" deployment=datacenter context={context} username={handle.username} tz={timezone}"
             if datacenter else "")
    print(f"confluence emulator: url={handle.url} domain={handle.domain} email={handle.email} "
          f"token={handle.token} ca={handle.ca_path}{extra}", flush=True)
    print(f"serving {len(handle.store.items)} items in {len(handle.store.spaces)} spaces"
          f"{f' as Confluence Data Center at {handle.site_url}/rest/api/' if datacenter else ''}; "
          f"admin API at {handle.url}/__admin/; Ctrl-C stops", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        handle.stop()
        print("confluence emulator: stopped", file=sys.stderr, flush=True)
