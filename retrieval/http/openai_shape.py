"""The OpenAI chat-completions shape for the server's answers (no FastAPI here).

An answer (Answer.to_dict() plus `query`) becomes a `chat.completion`, or a run of
`chat.completion.chunk` objects for streaming. The text carries the citations as Markdown links
(a "Sources:" list after the answer), and a `citations` field carries them as data.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from pydantic import BaseModel

MODEL_NAME = "confluence-kb"
_PIECE = re.compile(r"\s*\S+\s*|\s+")


class TextPart(BaseModel):
    type: str = "text"
    text: str = ""


class ChatMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content if part.type == "text")
        return self.content or ""


def split_messages(messages: Sequence[ChatMessage]) -> tuple[str | None, list[dict[str, str]]]:
    """The last user message (the question) and the user/assistant turns before it (the history)."""
    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last is None:
        return None, []
    history = [{"role": m.role, "content": _strip_sources(m.text())} for m in messages[:last]
               if m.role in ("user", "assistant") and m.text().strip()]
    return messages[last].text(), history


def _strip_sources(text: str) -> str:
    """An assistant turn we wrote comes back with its Sources list; the history needs only the answer."""
    return text.split("\n\nSources:\n", 1)[0]


def pieces(text: str, words: int = 3) -> Iterator[str]:
    """The text in pieces of a few words, whitespace kept: "".join(pieces(t)) == t."""
    tokens = _PIECE.findall(text)
    for i in range(0, len(tokens), words):
        yield "".join(tokens[i:i + words])


def content(answer: dict[str, Any]) -> str:
    """The answer text, then its citations as Markdown links."""
    text = answer.get("text", "")
    cites = answer.get("citations") or []
    if not cites:
        return text
    lines = [f"[{c.get('number')}] [{c.get('title') or c.get('url')}]({c.get('link') or c.get('url')})"
             for c in cites]
    return text + "\n\nSources:\n" + "\n".join(lines)


def _usage(answer: dict[str, Any], text: str) -> dict[str, int]:
    """Token counts, approximated by words (the server does no LLM accounting)."""
    prompt = len(str(answer.get("query", "")).split())
    completion = len(text.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion(answer: dict[str, Any], completion_id: str) -> dict[str, Any]:
    """A non-streamed `chat.completion`."""
    text = content(answer)
    return {
        "id": completion_id, "object": "chat.completion", "created": int(time.time()), "model": MODEL_NAME,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": _usage(answer, text),
        "citations": answer.get("citations") or [],
        "not_found": bool(answer.get("not_found")),
        "query": answer.get("query"),
    }


def chunks(answer: dict[str, Any], completion_id: str) -> Iterator[dict[str, Any]]:
    """The streamed form: a role chunk, content pieces, then a final chunk with finish_reason and
    `citations` (the caller ends the stream with `data: [DONE]`)."""
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        return {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                "model": MODEL_NAME, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra}

    yield chunk({"role": "assistant", "content": ""})
    for piece in pieces(content(answer)):
        yield chunk({"content": piece})
    yield chunk({}, "stop", citations=answer.get("citations") or [], not_found=bool(answer.get("not_found")))


def models() -> dict[str, Any]:
    """GET /v1/models."""
    return {"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "created": 0,
                                        "owned_by": "confluence-kb"}]}


def unknown_model(name: str | None) -> Any:
    """None for our model (or none named); else OpenAI's 404 `model_not_found` response."""
    if not name or name == MODEL_NAME:
        return None
    from fastapi.responses import JSONResponse

    return JSONResponse({"error": {
        "message": f"The model `{name[:100]}` does not exist; this server serves `{MODEL_NAME}`.",
        "type": "invalid_request_error", "param": "model", "code": "model_not_found"}}, status_code=404)
