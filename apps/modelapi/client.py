"""The model API as the rest of the app sees it: embeddings, reranking, chat.

All HTTP goes through ``transport`` (retries, backoff, rate limiting) and
``chat_stream`` (streamed chat completions); responses are validated into pydantic
models; every failure is a ``ModelApiError``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TypeVar

from django.conf import settings
from pydantic import BaseModel, ValidationError

from apps.modelapi.chat_stream import (
    StreamDelta,
    StreamedMessage,
    StreamEnd,
    StreamEvent,
    chat_request_body,
    split_think,
    stream_chat_completion,
)
from apps.modelapi.errors import ModelApiError
from apps.modelapi.rerank import RankedDoc, RerankUnavailable, match_reranked, rerank
from apps.modelapi.schemas import Annotation, ChatCompletion, ChatDocument, EmbeddingsResponse
from apps.modelapi.transport import (
    Endpoint,
    backoff_delay,
    chat_endpoint,
    embeddings_endpoint,
    request_json,
    rerank_endpoint,
)

__all__ = [
    "Endpoint",
    "ModelApiError",
    "RankedDoc",
    "RerankUnavailable",
    "StreamDelta",
    "StreamEnd",
    "StreamEvent",
    "StreamedMessage",
    "backoff_delay",
    "chat_completion",
    "chat_endpoint",
    "create_embeddings",
    "embeddings_endpoint",
    "is_request_too_large",
    "match_reranked",
    "rerank",
    "rerank_endpoint",
    "stream_chat_completion",
]

logger = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


def validate_response(model: type[M], payload: object, path: str) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise ModelApiError(
            f"unexpected response shape: {exc.errors()[:3]}",
            code="bad_shape",
            retryable=False,
            endpoint=path,
        ) from exc


def is_request_too_large(error: ModelApiError) -> bool:
    """Groq's 413 ``rate_limit_exceeded``: this request alone is over the limit; make it smaller."""
    return error.status == 413


def _embed_batch(endpoint: Endpoint, batch: list[str]) -> list[list[float]]:
    # base64 float32 is a quarter of the JSON and far cheaper to encode and parse; a server
    # that ignores it and answers with float lists is understood too.
    payload = request_json(
        endpoint,
        "POST",
        "embeddings",
        {"model": endpoint.model, "input": batch, "encoding_format": "base64"},
    )
    parsed = validate_response(EmbeddingsResponse, payload, "embeddings")
    if len(parsed.data) != len(batch):
        raise ModelApiError(
            f"asked for {len(batch)} embeddings, got {len(parsed.data)}",
            code="bad_shape",
            retryable=False,
            endpoint="embeddings",
        )
    vectors = [item.vector() for item in sorted(parsed.data, key=lambda item: item.index)]
    widths = {len(v) for v in vectors}
    if len(widths) > 1:
        raise ModelApiError(
            f"embeddings of mixed dimensions {sorted(widths)}",
            code="bad_shape",
            retryable=False,
            endpoint="embeddings",
        )
    return vectors


def _embed_shrinking(endpoint: Endpoint, batch: list[str]) -> list[list[float]]:
    """Embed a batch; a 413 splits it in halves instead of waiting."""
    try:
        return _embed_batch(endpoint, batch)
    except ModelApiError as exc:
        if not is_request_too_large(exc) or len(batch) == 1:
            raise
        logger.info("embedding batch of %d too large, splitting", len(batch))
        middle = len(batch) // 2
        return _embed_shrinking(endpoint, batch[:middle]) + _embed_shrinking(
            endpoint, batch[middle:]
        )


def create_embeddings(
    texts: Sequence[str], *, endpoint: Endpoint | None = None
) -> list[list[float]]:
    """Embed ``texts`` in batches of ``EMBEDDING_BATCH_SIZE``; vectors come back in input order."""
    endpoint = endpoint or embeddings_endpoint()
    batch_size = max(1, int(settings.EMBEDDING_BATCH_SIZE))
    vectors: list[list[float]] = []
    for start in range(0, len(texts), batch_size):
        vectors.extend(_embed_shrinking(endpoint, list(texts[start : start + batch_size])))
    return vectors


def chat_completion(
    messages: Sequence[dict[str, str]],
    *,
    documents: Sequence[ChatDocument] = (),
    max_tokens: int | None = None,
    temperature: float | None = None,
    endpoint: Endpoint | None = None,
) -> ChatCompletion:
    """One non-streamed chat completion; ``<think>`` text in content moves to ``reasoning``."""
    endpoint = endpoint or chat_endpoint()
    body = chat_request_body(
        messages,
        model=endpoint.model,
        documents=documents,
        max_tokens=max_tokens,
        temperature=temperature,
    )
    completion = validate_response(
        ChatCompletion, request_json(endpoint, "POST", "chat/completions", body), "chat/completions"
    )
    if not completion.choices:
        raise ModelApiError(
            "the server returned no choices",
            code="bad_shape",
            retryable=False,
            endpoint="chat/completions",
        )
    message = completion.choices[0].message
    if message.content and "</think>" in message.content:
        original = message.content
        if "<think>" not in original:  # only the closing tag: everything before it was thinking
            original = "<think>" + original
        content, reasoning = split_think(original)
        shift = original.find(content) - (len(original) - len(message.content)) if content else 0
        message.content = content
        message.reasoning = "\n".join(filter(None, [message.reasoning, reasoning]))
        _shift_annotations(message.annotations or [], -shift, len(content))
    return completion


def _shift_annotations(annotations: Sequence[Annotation], delta: int, length: int) -> None:
    """Move citation spans by ``delta`` after text before them was removed."""
    if not delta:
        return
    for annotation in annotations:
        for span in (
            annotation.document_citation,
            annotation.function_citation,
            annotation.url_citation,
            annotation,
        ):
            if span is None:
                continue
            for name in ("start_index", "end_index", "index"):
                value = getattr(span, name, None)
                if isinstance(value, int):
                    setattr(span, name, max(0, min(length, value + delta)))
