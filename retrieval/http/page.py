"""The chat page of `kb serve`: `GET /` and its static files (retrieval/http/static/), no build step.

The page is static: it holds no knowledge-base data, so `GET /` and `/static/*` need no key (a browser
cannot send a bearer header on navigation anyway). Everything the page shows comes from the `/v1/*` API,
with the key the person types once; the page keeps it in sessionStorage and sends it as
`Authorization: Bearer`, never in a URL. `GET /page/config` tells the page whether a key is needed (a
401 would say as much) so that it asks before its first call instead of after a failed one.
Whom the key searches as comes with `GET /v1/status` (`caller.principal`); the page shows it in its header.

Headers: a strict Content-Security-Policy (same-origin scripts, styles and requests only; no inline
script; not framed), `nosniff`, `no-referrer` (a click on a citation does not tell the wiki where the
reader came from).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"
HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                                "connect-src 'self'; form-action 'none'; base-uri 'none'; "
                                "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class _Static(StaticFiles):
    """StaticFiles with the page's headers."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.update(HEADERS)
        return response


def add_page(app: FastAPI) -> None:
    """Mount the chat page on `app`: `GET /`, `GET /page/config`, `/static/*`."""
    router = APIRouter(tags=["page"])

    @router.get("/", include_in_schema=False)
    async def chat_page() -> FileResponse:
        """The chat page (static HTML; the data comes from /v1/* with the person's key)."""
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8", headers=HEADERS)

    @router.get("/page/config", include_in_schema=False)
    async def page_config(request: Request) -> JSONResponse:
        """Whether the API needs a key: the page asks for one before its first call."""
        return JSONResponse({"key_required": bool(request.app.state.settings.server.keys)},
                            headers={"Cache-Control": "no-store"})

    app.include_router(router)
    app.mount("/static", _Static(directory=STATIC), name="static")
