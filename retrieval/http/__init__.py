"""The HTTP API (`kb serve`): the FastAPI app (`app`), the engine seam and the real engine (`engine`),
guards (`guard`: body limit, keys, rate limits, redaction), request bodies (`schemas`) and the
OpenAI chat-completions shape (`openai_shape`)."""

from __future__ import annotations

from ingest._exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    "create_app": ".app",
    "running_server": ".app",
    "serve": ".app",
    "Engine": ".engine",
    "KBEngine": ".engine",
})
