"""The request of ``/api/v1/openai/chat/completions``, as the OpenAI and Groq SDKs send it.

Unknown fields are ignored (SDKs send ``temperature``, ``max_tokens``, ``n``… that the
ask pipeline decides itself); what the pipeline reads is checked strictly.
``documents`` takes Groq's shape (``{id?, source: {type: "text", text} | {type: "json",
data}}``) and the shorter ones clients write by hand: a string, ``{text}``, ``{id, text}``.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_MESSAGES = 200
MAX_MESSAGE_CHARS = 20_000
MAX_DOCUMENTS = 50
# All request documents together; their passages are reranked with the retrieved ones
# (the reranker takes at most 100 texts per call).
MAX_DOCUMENT_CHARS_TOTAL = 60_000
MAX_DOCUMENT_ID_CHARS = 200


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ContentPart(_Lenient):
    type: str = Field(max_length=50)
    text: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)


class RequestMessage(_Lenient):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = Field(default=None)

    def text(self) -> str:
        """The message's text (text parts joined; images and other parts are ignored)."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(part.text or "" for part in self.content if part.type == "text")


class DocumentSource(_Lenient):
    type: Literal["text", "json"]
    text: str | None = None
    data: dict[str, Any] | None = None

    def as_text(self) -> str:
        if self.type == "json":
            return json.dumps(self.data or {}, ensure_ascii=False)
        return self.text or ""


class RequestDocument(_Lenient):
    """``{id?, source}`` (Groq) or ``{id?, text}``."""

    id: str | None = Field(default=None, min_length=1, max_length=MAX_DOCUMENT_ID_CHARS)
    text: str | None = None
    source: DocumentSource | None = None

    @model_validator(mode="after")
    def _has_text(self) -> RequestDocument:
        if (self.text is None) == (self.source is None):
            raise ValueError("a document needs exactly one of 'text' or 'source'")
        return self

    def as_text(self) -> str:
        return self.source.as_text() if self.source is not None else self.text or ""


class StreamOptions(_Lenient):
    include_usage: bool = False


class ChatCompletionRequest(_Lenient):
    model: str = Field(min_length=1, max_length=200)
    messages: list[RequestMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    documents: list[str | RequestDocument] | None = Field(default=None, max_length=MAX_DOCUMENTS)
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    citation_options: Literal["enabled", "disabled"] | None = None

    @model_validator(mode="after")
    def _bounded(self) -> ChatCompletionRequest:
        if any(len(m.text()) > MAX_MESSAGE_CHARS for m in self.messages):
            raise ValueError(f"a message is longer than {MAX_MESSAGE_CHARS} characters")
        total = sum(len(text) for _, text in self.document_texts())
        if total > MAX_DOCUMENT_CHARS_TOTAL:
            raise ValueError(
                f"the documents hold {total} characters; at most {MAX_DOCUMENT_CHARS_TOTAL}"
            )
        return self

    def document_texts(self) -> list[tuple[str, str]]:
        """``(id, text)`` of each request document; unnamed ones are ``request-1``, …"""
        named = []
        for number, document in enumerate(self.documents or [], start=1):
            if isinstance(document, str):
                named.append((f"request-{number}", document))
            else:
                named.append((document.id or f"request-{number}", document.as_text()))
        return named

    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


def _inlined(node: Any, definitions: dict[str, Any]) -> Any:
    """``node`` with every ``#/$defs/…`` reference replaced by its definition (the models
    are not recursive): the schema then stands alone inside the OpenAPI document."""
    if isinstance(node, dict):
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/$defs/"):
            return _inlined(definitions[reference.removeprefix("#/$defs/")], definitions)
        return {key: _inlined(value, definitions) for key, value in node.items()}
    if isinstance(node, list):
        return [_inlined(item, definitions) for item in node]
    return node


def request_body_schema() -> dict[str, Any]:
    """The request body for the OpenAPI document (the view parses the body itself, so that
    a malformed one is a 400 in the model-API family's shape)."""
    schema = ChatCompletionRequest.model_json_schema()
    definitions = schema.pop("$defs", {})
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inlined(schema, definitions)}},
        },
        "responses": {
            200: {  # an int, as ninja keys its responses
                "description": 'A `chat.completion`; with `"stream": true`, '
                "`chat.completion.chunk` Server-Sent Events ending with `data: [DONE]`.",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            }
        },
    }
