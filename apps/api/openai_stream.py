"""The ask pipeline's events as ``chat.completion.chunk`` Server-Sent Events.

The first chunk carries the role; text arrives in ``delta.content``; each citation's
annotations ride in ``delta.annotations`` as soon as the pipeline reports it (spans index
the whole message so far, as Groq's do); the last choice chunk has ``finish_reason`` and
the usage in ``x_groq`` (as Groq sends it); ``stream_options.include_usage`` adds a chunk with no choices and the usage; ``data:
[DONE]`` ends the stream. A model server or database that fails after the stream began
sends ``data: {"error": {...}}`` (both SDKs raise it as an ``APIError``) and no ``[DONE]``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from django.db import InterfaceError, OperationalError

from apps.api.errors import DATABASE_UNAVAILABLE, model_server_error
from apps.api.openai_annotations import AnnotationContext, citation_annotations
from apps.api.openai_completion import Completion, marker_annotations, usage_json
from apps.chat.answering import Answered
from apps.chat.events import CitationAdded, Failed, Retrieved, TextDelta

logger = logging.getLogger(__name__)

PipelineEvents = Generator[Retrieved | TextDelta | CitationAdded | Failed, None, Answered | None]


def sse_data(payload: dict[str, Any] | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return f"data: {data}\n\n".encode()


@dataclass(frozen=True)
class ChunkWriter:
    completion: Completion

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        header = self.completion.header("chat.completion.chunk")
        return sse_data({**header, "choices": [choice], **extra})

    def usage_chunk(self, usage: dict[str, int]) -> bytes:
        return sse_data(
            {**self.completion.header("chat.completion.chunk"), "choices": [], "usage": usage}
        )


def _error_data(message: str, code: str, error_type: str) -> bytes:
    return sse_data({"error": {"message": message, "type": error_type, "code": code}})


def _rendered(
    events: PipelineEvents, writer: ChunkWriter, context: AnnotationContext | None
) -> Generator[bytes, None, Answered | None]:
    """Chunks for the pipeline's events; returns the finished answer (``None`` on failure)."""
    while True:
        try:
            event = next(events)
        except StopIteration as finished:
            answered: Answered | None = finished.value
            return answered
        if isinstance(event, TextDelta) and event.text:
            yield writer.chunk({"content": event.text})
        elif isinstance(event, CitationAdded) and context is not None:
            annotations = citation_annotations(event.citation, context)
            yield writer.chunk({"content": "", "annotations": annotations})
        elif isinstance(event, Failed):
            error = model_server_error(event.error)
            yield _error_data(error.message, error.code, error.type)
            return None


def completion_chunks(
    events: PipelineEvents,
    *,
    writer: ChunkWriter,
    context: AnnotationContext | None,
    include_usage: bool,
) -> Iterator[bytes]:
    """The whole stream; closing it closes the pipeline (and the upstream model request)."""
    with closing(events):
        yield writer.chunk({"role": "assistant", "content": ""})
        streamed: list[str] = []
        try:
            answered = yield from _rendered(_recording(events, streamed), writer, context)
        except (OperationalError, InterfaceError) as exc:
            logger.warning("database unavailable during a streamed completion: %s", exc)
            yield _error_data(DATABASE_UNAVAILABLE, "database_unavailable", "service_unavailable")
            return
        if answered is None:
            return
        late = marker_annotations(answered, "".join(streamed), context)
        usage = usage_json(answered)
        # Groq reports a stream's usage in ``x_groq`` on its last choice chunk (its SDK has
        # no ``stream_options``); OpenAI in a chunk of its own when asked for.
        x_groq = {"id": writer.completion.id, "usage": usage}
        yield writer.chunk({"annotations": late} if late else {}, "stop", x_groq=x_groq)
        if include_usage:
            yield writer.usage_chunk(usage)
        yield sse_data("[DONE]")


def _recording(events: PipelineEvents, streamed: list[str]) -> PipelineEvents:
    """``events`` unchanged, noting the streamed text (for prompt-mode citations at the end)."""
    while True:
        try:
            event = next(events)
        except StopIteration as finished:
            answered: Answered | None = finished.value
            return answered
        if isinstance(event, TextDelta):
            streamed.append(event.text)
        yield event
