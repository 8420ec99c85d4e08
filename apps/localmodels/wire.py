"""Request models of the local provider's endpoints (the same JSON as Groq's)."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


class EmbeddingsRequest(_Request):
    model: str
    input: str | list[str]
    encoding_format: Literal["float", "base64"] = "float"

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


class RerankRequest(_Request):
    model: str
    query: str
    docs: list[str] = Field(min_length=1, max_length=100)
    instruction: str | None = None


class CohereDocument(_Request):
    text: str


class CohereRerankRequest(_Request):
    """The Cohere / Jina / vLLM / llama.cpp shape of ``/rerank``."""

    model: str
    query: str
    documents: list[str | CohereDocument] = Field(min_length=1, max_length=1000)
    top_n: int | None = Field(default=None, ge=1)
    return_documents: bool = False

    def texts(self) -> list[str]:
        return [d if isinstance(d, str) else d.text for d in self.documents]


class StreamOptions(_Request):
    include_usage: bool = False


class ContentPart(_Request):
    type: str
    text: str | None = None


class RequestMessage(_Request):
    role: str
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(part.text or "" for part in self.content if part.type == "text")


class DocumentSource(_Request):
    type: Literal["text", "json"]
    text: str | None = None
    data: dict[str, Any] | None = None

    def as_text(self) -> str:
        if self.type == "json":
            return json.dumps(self.data or {}, ensure_ascii=False)
        return self.text or ""


class RequestDocument(_Request):
    id: str | None = None
    source: DocumentSource


class ChatRequest(_Request):
    model: str
    messages: list[RequestMessage] = Field(min_length=1)
    documents: list[RequestDocument] | None = None
    citation_options: Literal["enabled", "disabled"] | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None

    def user_texts(self) -> list[str]:
        return [m.text() for m in self.messages if m.role == "user"]

    def question(self) -> str:
        for message in reversed(self.messages):
            if message.role == "user":
                return message.text()
        return ""
