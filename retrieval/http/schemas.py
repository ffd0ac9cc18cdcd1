"""The request bodies of the HTTP API (pydantic models; FastAPI reads them in retrieval/http/app.py).

Lengths that depend on settings (question length) are checked by the server; the rest is here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from retrieval.http import openai_shape


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    spaces: list[str] | None = None
    kinds: list[Literal["page", "blogpost", "attachment"]] | None = None
    labels: list[str] | None = None
    updated_after: str | None = None
    updated_before: str | None = None
    page_ids: list[str] | None = None
    properties: dict[str, str] | None = None  # Page Properties, e.g. {"status": "Approved"}

    @field_validator("updated_after", "updated_before")
    @classmethod
    def _iso(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                raise ValueError("not an ISO 8601 date (e.g. 2024-05-01 or 2024-05-01T12:00:00Z)") from None
        return value


class Message(BaseModel):
    role: Literal["user", "assistant", "system"]
    content: str


class AskIn(BaseModel):
    question: str = Field(min_length=1)
    filters: FiltersIn | None = None
    k: int | None = Field(default=None, ge=1, le=50)
    history: list[Message] = Field(default_factory=list, max_length=50)
    stream: bool = False
    user: str | None = Field(default=None, max_length=256,
                             description="who is asking (email or account id); only with a backend key")


class SearchIn(BaseModel):
    query: str = Field(min_length=1)
    filters: FiltersIn | None = None
    k: int | None = Field(default=None, ge=1, le=50)
    mode: Literal["hybrid", "dense", "lexical"] | None = None
    user: str | None = Field(default=None, max_length=256,
                             description="who is asking (email or account id); only with a backend key")


class ChatIn(BaseModel):
    """The OpenAI chat-completions request; unknown fields (temperature, …) are accepted and ignored."""
    model_config = ConfigDict(extra="allow")
    model: str = openai_shape.MODEL_NAME
    messages: list[openai_shape.ChatMessage] = Field(min_length=1, max_length=100)
    stream: bool = False
    user: str | None = Field(default=None, max_length=256,
                             description="who is asking (email or account id); only with a backend key")
