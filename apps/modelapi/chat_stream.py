"""Streamed chat completions: SSE parsing, ``<think>`` separation, and one event stream.

Groq streams ``data: {chunk}`` lines and ends with ``data: [DONE]``; the first chunk
carries ``x_groq.id``, the last ``x_groq.usage`` (or, with ``include_usage``, a chunk
with empty ``choices`` carries ``usage``). Errors may arrive mid-stream as a data
object with ``error`` or as ``x_groq.error``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import ValidationError

from apps.modelapi.errors import ModelApiError
from apps.modelapi.schemas import Annotation, ChatCompletionChunk, ChatDocument, ErrorBody, Usage
from apps.modelapi.transport import Endpoint, chat_endpoint, open_stream

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


def iter_sse_data(lines: Iterable[str]) -> Iterator[str]:
    """The ``data`` payloads of a Server-Sent Events stream, one per event."""
    buffer: list[str] = []
    for line in lines:
        if line == "":
            if buffer:
                yield "\n".join(buffer)
                buffer = []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if name == "data":
            buffer.append(value[1:] if value.startswith(" ") else value)
    if buffer:
        yield "\n".join(buffer)


class ThinkSplitter:
    """Separates ``<think>…</think>`` from answer text, also when tags straddle chunks."""

    def __init__(self) -> None:
        self._pending = ""
        self._thinking = False

    def feed(self, text: str) -> tuple[str, str]:
        """Return ``(answer text, reasoning text)`` that can be released now."""
        self._pending += text
        answer: list[str] = []
        reasoning: list[str] = []
        while self._pending:
            tag = THINK_CLOSE if self._thinking else THINK_OPEN
            position = self._pending.find(tag)
            if position >= 0:
                (reasoning if self._thinking else answer).append(self._pending[:position])
                self._pending = self._pending[position + len(tag) :]
                self._thinking = not self._thinking
                continue
            keep = _partial_tag_suffix(self._pending, tag)
            released = self._pending[: len(self._pending) - keep]
            (reasoning if self._thinking else answer).append(released)
            self._pending = self._pending[len(released) :]
            break
        return "".join(answer), "".join(reasoning)

    def flush(self) -> tuple[str, str]:
        rest, self._pending = self._pending, ""
        return ("", rest) if self._thinking else (rest, "")


def _partial_tag_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


def split_think(content: str) -> tuple[str, str]:
    """``(answer, reasoning)`` of a whole message whose content may hold ``<think>`` tags."""
    splitter = ThinkSplitter()
    answer, reasoning = splitter.feed(content)
    rest_answer, rest_reasoning = splitter.flush()
    return (answer + rest_answer).strip(), (reasoning + rest_reasoning).strip()


@dataclass(frozen=True)
class StreamDelta:
    content: str = ""
    reasoning: str = ""
    annotations: tuple[Annotation, ...] = ()


@dataclass(frozen=True)
class StreamEnd:
    finish_reason: str | None
    usage: Usage | None
    request_id: str | None
    model: str | None


StreamEvent = StreamDelta | StreamEnd


@dataclass
class StreamedMessage:
    """Everything a stream said, gathered (what a non-streamed response would hold)."""

    content: str = ""
    reasoning: str = ""
    annotations: list[Annotation] = field(default_factory=list)
    end: StreamEnd | None = None

    def add(self, event: StreamEvent) -> None:
        if isinstance(event, StreamDelta):
            self.content += event.content
            self.reasoning += event.reasoning
            self.annotations.extend(event.annotations)
        else:
            self.end = event


def _stream_error(error: ErrorBody | str, request_id: str | None) -> ModelApiError:
    if isinstance(error, str):
        return ModelApiError(
            error, code="stream_error", request_id=request_id, endpoint="chat/completions"
        )
    return ModelApiError(
        error.message or "the model server reported an error mid-stream",
        code=None if error.code is None else str(error.code),
        error_type=error.type,
        request_id=request_id,
        endpoint="chat/completions",
    )


def parse_chat_stream(lines: Iterable[str]) -> Iterator[StreamEvent]:
    """Events of one streamed completion; raises ``ModelApiError`` on an error or a cut stream."""
    splitter = ThinkSplitter()
    request_id: str | None = None
    model: str | None = None
    finish_reason: str | None = None
    usage: Usage | None = None
    for payload in iter_sse_data(lines):
        if payload.strip() == "[DONE]":
            content, reasoning = splitter.flush()
            if content or reasoning:
                yield StreamDelta(content, reasoning)
            yield StreamEnd(finish_reason, usage, request_id, model)
            return
        try:
            chunk = ChatCompletionChunk.model_validate(json.loads(payload))
        except (ValueError, ValidationError) as exc:
            raise ModelApiError(
                f"malformed stream chunk: {payload[:120]!r}",
                code="stream_malformed",
                request_id=request_id,
                endpoint="chat/completions",
            ) from exc
        if chunk.x_groq and chunk.x_groq.id:
            request_id = request_id or chunk.x_groq.id
        request_id = request_id or chunk.id
        model = model or chunk.model
        if chunk.error is not None:
            raise _stream_error(chunk.error, request_id)
        if chunk.x_groq and chunk.x_groq.error is not None:
            raise _stream_error(chunk.x_groq.error, request_id)
        usage = chunk.usage or (chunk.x_groq.usage if chunk.x_groq else None) or usage
        for choice in chunk.choices[:1]:
            delta = choice.delta
            content, think = splitter.feed(delta.content or "")
            reasoning = (delta.reasoning or "") + think
            if content or reasoning or delta.annotations:
                yield StreamDelta(content, reasoning, tuple(delta.annotations or ()))
            finish_reason = choice.finish_reason or finish_reason
    raise ModelApiError(
        "the answer stream ended before it was complete",
        code="stream_incomplete",
        request_id=request_id,
        endpoint="chat/completions",
    )


def chat_request_body(
    messages: Sequence[dict[str, str]],
    *,
    model: str,
    documents: Sequence[ChatDocument] = (),
    stream: bool = False,
    max_tokens: int | None = None,
    temperature: float | None = None,
) -> dict[str, Any]:
    """A chat request with only fields Groq knows: history never carries annotations back."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
    }
    if documents:
        body["documents"] = [doc.wire() for doc in documents]
        body["citation_options"] = "enabled"
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    if max_tokens is not None:
        body["max_completion_tokens"] = max_tokens
    if temperature is not None:
        body["temperature"] = temperature
    return body


def stream_chat_completion(
    messages: Sequence[dict[str, str]],
    *,
    documents: Sequence[ChatDocument] = (),
    max_tokens: int | None = None,
    endpoint: Endpoint | None = None,
) -> Iterator[StreamEvent]:
    """Stream one chat completion. Closing the iterator closes the upstream request."""
    endpoint = endpoint or chat_endpoint()
    body = chat_request_body(
        messages, model=endpoint.model, documents=documents, stream=True, max_tokens=max_tokens
    )
    with open_stream(endpoint, "chat/completions", body) as response:
        try:
            yield from parse_chat_stream(response.iter_lines())
        except httpx.TimeoutException as exc:
            raise ModelApiError(
                "the answer stream stalled", code="stream_timeout", endpoint="chat/completions"
            ) from exc
        except httpx.TransportError as exc:
            raise ModelApiError(
                f"the answer stream broke: {exc}", code="stream_broken", endpoint="chat/completions"
            ) from exc
