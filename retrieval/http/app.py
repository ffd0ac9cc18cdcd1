"""The chatbot backend: `kb serve`, a FastAPI app over an injected engine (the only FastAPI module).

Endpoints (all JSON; bearer key on /v1/*): POST /v1/ask (JSON, or server-sent events with
"stream": true or `Accept: text/event-stream`: events hits, delta…, citations, done), POST /v1/search,
GET /v1/status, POST /v1/chat/completions and GET /v1/models (OpenAI shape, model "confluence-kb"),
GET /healthz (no key). /openapi.json only with server.docs = true, behind the key; no Swagger UI (no CDN).

Security: Host, Origin and no key in the URL, first and in every mode (retrieval/http/hosts.py); keys from
KB_SERVER__API_KEYS, compared in constant time; with no key configured the server only starts on a
loopback host (with a warning) — see `check_exposure`. Per-key token-bucket rate limit (429 +
Retry-After); body limit (413) before parsing; question length (422). Every error is `{"error",
"guidance"}` JSON from one handler; unexpected errors are logged as one line (type only),
never with a traceback, key or token.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ingest.config import Settings
from ingest.errors import ConfigError, KBError
from retrieval.http import openai_shape
from retrieval.http.engine import Engine
from retrieval.http.guard import Guard, RateLimiter, redact, scrub, secrets_of
from retrieval.http.hosts import HostCheck, HostPolicy, is_loopback
from retrieval.http.identity import Caller, check_roles
from retrieval.http.identity import caller as _caller
from retrieval.http.page import add_page
from retrieval.http.schemas import AskIn, ChatIn, FiltersIn, SearchIn
from retrieval.query.followups import standalone_query

log = logging.getLogger("kb.server")


class Invalid(KBError):
    http_status = 422


# -- the app -------------------------------------------------------------------------------------------
def create_app(settings: Settings, engine: Engine | None = None, *, sync: Any = None) -> FastAPI:
    """The app. `engine` None: the lifespan opens the real one (model and stores, once) and closes it.
    `sync` (an `ingest.sync.SyncLoop`): started on its thread with the app, stopped when it shuts down
    (after the batch in flight: uvicorn's SIGTERM/SIGINT handling ends the lifespan)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = engine is None
        app.state.engine, app.state.startup_error = engine, None
        if owned:
            try:
                from retrieval.http.engine import KBEngine

                app.state.engine = await run_in_threadpool(KBEngine.open, settings)
            except KBError as err:  # every /v1 call answers it (its status); /healthz 503; no traceback
                log.error("engine did not start: %s", err)
                app.state.startup_error = err
        if sync is not None:
            sync.start()
        try:
            yield
        finally:
            if sync is not None:
                log.info("stopping the sync loop after the batch in flight")
                await run_in_threadpool(sync.close)
            if owned and app.state.engine is not None:
                await run_in_threadpool(app.state.engine.close)

    app = FastAPI(title="confluence-kb", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None, description="Cited answers and search over a Confluence knowledge base.")
    app.state.settings = settings
    app.state.limiter = RateLimiter(settings.server.rate_limit_per_minute)
    _install_errors(app)
    app.add_middleware(Guard, max_body=settings.server.max_body_bytes)
    if settings.server.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.server.cors_origins),
                           allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(HostCheck, policy=HostPolicy(settings.server.host, settings.server.allowed_hosts),
                       cors_origins=settings.server.cors_origins)  # outermost: before anything else runs
    if not settings.server.keys:
        log.warning("no API key configured (KB_SERVER__API_KEYS): every caller is let in")
    check_roles(settings)
    _add_routes(app, settings)
    add_page(app)  # GET /: the chat page (retrieval/http/page.py)
    return app


async def _engine(request: Request) -> Engine:
    err = request.app.state.startup_error
    if err is not None:
        raise err
    return request.app.state.engine  # type: ignore[no-any-return]


def _check_question(settings: Settings, text: str, what: str = "question") -> None:
    limit = settings.server.max_question_chars
    if len(text) > limit:
        raise Invalid(f"{what} is too long ({len(text)} characters)", f"keep it to {limit} characters")
    if not text.strip():
        raise Invalid(f"{what} is empty", f"send a non-empty {what}")


def _filters(filters: FiltersIn | None) -> dict[str, Any] | None:
    if filters is None:
        return None
    return filters.model_dump(exclude_none=True) or None


async def _standalone(engine: Engine, question: str, history: list[dict[str, str]]) -> tuple[str, list[str]]:
    """The query to retrieve with (the follow-up made standalone) and any warnings."""
    rewrite = getattr(engine, "rewrite", None)
    if rewrite is None or not history:  # the rule is cheap; only an LLM call needs a worker thread
        return standalone_query(question, history)
    return await run_in_threadpool(standalone_query, question, history, rewrite)


def _finish(settings: Settings, answer: dict[str, Any], query: str, warnings: list[str]) -> dict[str, Any]:
    """The answer dict gains `query` (what was searched); warnings lose any secret they quote."""
    secrets = secrets_of(settings)  # an LLM's error message may quote its key
    merged = [redact(str(w), secrets) for w in [*(answer.get("warnings") or []), *warnings]]
    return {**answer, "query": query, "warnings": merged}


async def _answer(settings: Settings, engine: Engine, question: str, history: list[dict[str, str]],
                  filters: dict[str, Any] | None, k: int | None, who: Any) -> dict[str, Any]:
    """Make the follow-up standalone, then ask as `who`."""
    query, warnings = await _standalone(engine, question, history)
    answer = await run_in_threadpool(engine.ask, query, k=k, filters=filters, history=history or None,
                                     principal=who)
    return _finish(settings, answer, query, warnings)


async def _ask_stream(settings: Settings, engine: Engine, question: str, history: list[dict[str, str]],
                      filters: dict[str, Any] | None, k: int | None, who: Any) -> StreamingResponse:
    """Server-sent events. With an engine that answers in steps (`ask_events`), the hits go out as soon
    as the search is done, before the answer is written; otherwise after the whole answer."""
    staged = getattr(engine, "ask_events", None)
    if staged is None:
        return _sse(_ask_events(await _answer(settings, engine, question, history, filters, k, who)))
    query, warnings = await _standalone(engine, question, history)
    steps = staged(query, k=k, filters=filters, history=history or None, principal=who)
    _, hits = await run_in_threadpool(next, steps)  # a search error still gets its own status

    async def events() -> AsyncIterator[tuple[str, Any]]:
        yield "hits", {"query": query, "hits": hits}
        try:
            _, answer = await run_in_threadpool(next, steps)
        except Exception as exc:  # the status line is gone: the error is the last event
            yield "error", _stream_error(settings, exc)
            return
        for item in list(_ask_events(_finish(settings, answer, query, warnings)))[1:]:
            yield item

    return _sse(events())


def _stream_error(settings: Settings, exc: Exception) -> dict[str, str]:
    if isinstance(exc, KBError):
        secrets = secrets_of(settings)
        return {"error": scrub(redact(exc.message, secrets), settings),
                "guidance": scrub(redact(exc.guidance, secrets), settings)}
    log.error("unexpected %s while streaming an answer", type(exc).__name__)
    return {"error": "internal error", "guidance": "retry; if it persists, see the server log"}


def _add_routes(app: FastAPI, settings: Settings) -> None:
    @app.get("/healthz", tags=["meta"])
    async def healthz(request: Request) -> JSONResponse:
        """Liveness and readiness; no key needed."""
        err = request.app.state.startup_error
        if err is not None:
            return JSONResponse({"status": "error", "error": scrub(err.message, settings),
                                 "guidance": scrub(err.guidance, settings)}, 503)
        return JSONResponse({"status": "ok"})

    if settings.server.docs:  # the schema, behind the key like /v1; no Swagger UI (it loads a CDN)
        @app.get("/openapi.json", include_in_schema=False)
        async def openapi(caller: str = Depends(_caller)) -> JSONResponse:
            return JSONResponse(app.openapi())

    @app.get("/v1/status", tags=["kb"])
    async def status(caller: Caller = Depends(_caller), engine: Engine = Depends(_engine)) -> JSONResponse:
        """The knowledge base: pages, chunks, spaces, last run, model, active collection; and who the
        caller's key searches as (`caller`)."""
        found = await run_in_threadpool(engine.status)
        who = {"principal": caller.describe(), "may_name_user": caller.role == "backend"}
        return _json({**found, "caller": who})

    @app.post("/v1/search", tags=["kb"])
    async def search(body: SearchIn, caller: Caller = Depends(_caller),
                     engine: Engine = Depends(_engine)) -> JSONResponse:
        """Hybrid (or dense/lexical) search: the best chunks with scores and per-method ranks."""
        _check_question(settings, body.query, "query")
        started = time.perf_counter()
        hits = await run_in_threadpool(engine.search, body.query, k=body.k, filters=_filters(body.filters),
                                       mode=body.mode, principal=caller.principal(body.user))
        return _json({"query": body.query, "hits": hits,
                      "took_ms": round((time.perf_counter() - started) * 1e3, 2)})

    @app.post("/v1/ask", tags=["kb"], response_model=None)
    async def ask(body: AskIn, request: Request, caller: Caller = Depends(_caller),
                  engine: Engine = Depends(_engine)) -> JSONResponse | StreamingResponse:
        """A cited answer: JSON, or server-sent events (hits, delta…, citations, done) with
        "stream": true or `Accept: text/event-stream`."""
        _check_question(settings, body.question)
        history = [m.model_dump() for m in body.history]
        who = caller.principal(body.user)
        if body.stream or "text/event-stream" in request.headers.get("accept", ""):
            return await _ask_stream(settings, engine, body.question, history, _filters(body.filters), body.k,
                                     who)
        return _json(await _answer(settings, engine, body.question, history, _filters(body.filters), body.k,
                                   who))

    @app.get("/v1/models", tags=["openai"])
    async def models(caller: Caller = Depends(_caller)) -> dict[str, Any]:
        """The one model, for OpenAI-compatible front-ends."""
        return openai_shape.models()

    @app.post("/v1/chat/completions", tags=["openai"], response_model=None)
    async def chat(body: ChatIn, caller: Caller = Depends(_caller),
                   engine: Engine = Depends(_engine)) -> JSONResponse | StreamingResponse:
        """OpenAI chat completions: the last user message is the question, earlier turns the history;
        the reply carries its citations as links in the text and in `citations`."""
        if (unknown := openai_shape.unknown_model(body.model)) is not None:
            return unknown
        question, history = openai_shape.split_messages(body.messages)
        if question is None:
            raise Invalid("no user message", "end `messages` with a message whose role is user")
        _check_question(settings, question)
        answer = await _answer(settings, engine, question, history, None, None, caller.principal(body.user))
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        if body.stream:
            return _sse(openai_shape.chunks(answer, completion_id), done_marker=True)
        return _json(openai_shape.completion(answer, completion_id))


def _json(body: Any) -> JSONResponse:
    """The engine's results are JSON-ready dicts: skip FastAPI's recursive encoder."""
    return JSONResponse(body)


# -- server-sent events --------------------------------------------------------------------------------
def _ask_events(answer: dict[str, Any]) -> Any:
    yield "hits", {"query": answer.get("query"), "hits": answer.get("hits", [])}
    for piece in openai_shape.pieces(answer.get("text", "")):
        yield "delta", {"text": piece}
    yield "citations", {"citations": answer.get("citations", [])}
    yield "done", {key: answer.get(key)
                   for key in ("confidence", "not_found", "warnings", "query", "closest")}


def _sse(events: Any, *, done_marker: bool = False) -> StreamingResponse:
    """Events (name, data) or bare data dicts (name None), from an iterable or an async iterable, as
    text/event-stream."""

    def frame(item: Any) -> str:
        name, data = item if isinstance(item, tuple) else (None, item)
        head = f"event: {name}\n" if name else ""
        return f"{head}data: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"

    async def body() -> AsyncIterator[str]:
        if hasattr(events, "__aiter__"):
            async for item in events:
                yield frame(item)
        else:
            for item in events:
                yield frame(item)
        if done_marker:
            yield "data: [DONE]\n\n"

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


# -- errors ----------------------------------------------------------------------------------------------
def _error_response(status: int, error: str, guidance: str, headers: dict[str, str] | None = None,
                    ) -> JSONResponse:
    return JSONResponse({"error": error, "guidance": guidance}, status_code=status, headers=headers)


def _install_errors(app: FastAPI) -> None:
    """One family of handlers: everything becomes {"error", "guidance"} with the right status."""

    async def kb_error(request: Request, err: Exception) -> JSONResponse:
        assert isinstance(err, KBError)
        headers = dict(getattr(err, "headers", {}) or {})
        if "retry_after" in err.context:
            headers["Retry-After"] = str(err.context["retry_after"])
        secrets = secrets_of(request.app.state.settings)
        body = {"error": scrub(redact(err.message, secrets), request.app.state.settings),
                "guidance": scrub(redact(err.guidance, secrets), request.app.state.settings)}
        return JSONResponse(body, status_code=err.http_status, headers=headers or None)

    async def invalid(request: Request, err: Exception) -> JSONResponse:
        assert isinstance(err, RequestValidationError)
        first = err.errors()[0] if err.errors() else {}
        if first.get("type") == "json_invalid":
            return _error_response(400, "request body is not valid JSON",
                                   "send a JSON object with Content-Type: application/json")
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        if where == "body" and first.get("type") in ("model_attributes_type", "dict_type", "missing"):
            return _error_response(422, "request body must be a JSON object",
                                   "send a JSON object with Content-Type: application/json")
        return _error_response(422, f"invalid request: {where}: {first.get('msg', 'invalid')}",
                               "see the request schema in the README's HTTP API")

    async def http_error(request: Request, err: Exception) -> JSONResponse:
        assert isinstance(err, StarletteHTTPException)
        guidance = {404: "see the README's HTTP API for the endpoints", 405: "see the README for the methods"}
        return _error_response(err.status_code, str(err.detail), guidance.get(err.status_code, ""),
                               dict(err.headers or {}) or None)

    app.add_exception_handler(KBError, kb_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)


# -- running -----------------------------------------------------------------------------------------------
def check_exposure(settings: Settings, host: str) -> None:
    """No API key is allowed only on a loopback host; anywhere else it is a ConfigError."""
    if not settings.server.keys and not is_loopback(host):
        raise ConfigError(f"refusing to serve on {host} without an API key",
                          "set KB_SERVER__API_KEYS (comma-separated keys), or serve on 127.0.0.1")


def serve(settings: Settings, host: str | None = None, port: int | None = None, *,
          log_level: str = "info", sync: bool = False) -> None:
    """Open the engine (model and stores, once; errors are one-line KBErrors), then run uvicorn.
    `sync`: also run the sync loop (`kb sync`) on a thread, embedding with the engine's model."""
    import uvicorn

    from retrieval.http.engine import KBEngine, refuse_if_writing, sync_loop

    host = host or settings.server.host
    port = settings.server.port if port is None else port
    check_exposure(settings, host)
    settings = settings.model_copy(update={"server": settings.server.model_copy(update={"host": host})})
    if sync:
        refuse_if_writing(settings)
    engine = KBEngine.open(settings, local_writer=sync)
    try:
        loop = sync_loop(settings, engine) if sync else None
        app = create_app(settings, engine=engine, sync=loop)
        uvicorn.run(app, host=host, port=port, log_level=log_level, server_header=False)
    finally:
        engine.close()


@contextmanager
def running_server(app: FastAPI, host: str = "127.0.0.1", port: int = 0,
                   log_level: str = "warning") -> Iterator[str]:
    """Run `app` on uvicorn in a background thread (tests, benchmarks); yields its base URL."""
    import threading

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on"))
    thread = threading.Thread(target=server.run, name="kb-serve", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the server did not start (see its log)")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
