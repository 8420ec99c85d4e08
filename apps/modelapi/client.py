"""The httpx client: the only code in the project that talks to model servers.

Embeddings, reranking and chat each have their own base URL and key (settings
``EMBEDDINGS_*``, ``RERANK_*``, ``CHAT_*``), all defaulting to ``MODEL_API_*``.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from django.conf import settings
from pydantic import BaseModel, ValidationError

from apps.modelapi.errors import ModelApiError
from apps.modelapi.schemas import (
    ChatCompletion,
    ChatDocument,
    EmbeddingsResponse,
    ErrorEnvelope,
    GroqRerankResponse,
    ModelList,
)

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

MAX_RETRY_AFTER_SECONDS = 60.0
MAX_BACKOFF_SECONDS = 8.0


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    api_key: str
    model: str


@dataclass(frozen=True)
class RankedDoc:
    """A reranked document: its position in the request's list and its score."""

    index: int
    score: float


def embeddings_endpoint() -> Endpoint:
    return Endpoint(
        settings.EMBEDDINGS_BASE_URL, settings.EMBEDDINGS_API_KEY, settings.EMBEDDING_MODEL
    )


def rerank_endpoint() -> Endpoint:
    return Endpoint(settings.RERANK_BASE_URL, settings.RERANK_API_KEY, settings.RERANK_MODEL)


def chat_endpoint() -> Endpoint:
    return Endpoint(settings.CHAT_BASE_URL, settings.CHAT_API_KEY, settings.CHAT_MODEL)


@functools.lru_cache(maxsize=16)
def _http_client(
    base_url: str, api_key: str, timeout: float, connect_timeout: float
) -> httpx.Client:
    headers = {"Accept": "application/json", "User-Agent": "qa-site/0.1"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return httpx.Client(
        base_url=base_url + "/",
        headers=headers,
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
    )


def _client_for(endpoint: Endpoint) -> httpx.Client:
    return _http_client(
        endpoint.base_url,
        endpoint.api_key,
        float(settings.MODEL_API_TIMEOUT),
        float(settings.MODEL_API_CONNECT_TIMEOUT),
    )


def _retry_after_seconds(headers: httpx.Headers) -> float | None:
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return min(float(millis) / 1000.0, MAX_RETRY_AFTER_SECONDS)
        except ValueError:
            pass
    seconds = headers.get("retry-after")
    if seconds:
        try:
            return min(float(seconds), MAX_RETRY_AFTER_SECONDS)
        except ValueError:
            return None
    return None


def backoff_delay(attempt: int, retry_after: float | None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based)."""
    if retry_after is not None:
        return max(0.0, retry_after)
    base = min(0.5 * float(2**attempt), MAX_BACKOFF_SECONDS)
    return float(base * (0.5 + random.random() / 2))


def _error_from_response(response: httpx.Response, path: str) -> ModelApiError:
    request_id = response.headers.get("x-request-id")
    message = response.text[:500] or response.reason_phrase
    code: str | None = None
    error_type: str | None = None
    try:
        envelope = ErrorEnvelope.model_validate(response.json())
        message = envelope.error.message or message
        code = None if envelope.error.code is None else str(envelope.error.code)
        error_type = envelope.error.type
    except (ValueError, ValidationError):
        pass
    return ModelApiError(
        message,
        status=response.status_code,
        code=code,
        error_type=error_type,
        request_id=request_id,
        retry_after=_retry_after_seconds(response.headers),
        endpoint=path,
    )


def request_json(
    endpoint: Endpoint, method: str, path: str, body: dict[str, Any] | None = None
) -> Any:
    """Send one request, retrying what may succeed later; return the decoded JSON."""
    client = _client_for(endpoint)
    attempts = max(1, int(settings.MODEL_API_MAX_RETRIES) + 1)
    last_error: ModelApiError | None = None
    for attempt in range(attempts):
        try:
            response = client.request(method, path, json=body)
        except httpx.TimeoutException as exc:
            last_error = ModelApiError(f"timed out: {exc}", endpoint=path)
        except httpx.TransportError as exc:
            last_error = ModelApiError(f"connection failed: {exc}", endpoint=path)
        else:
            if response.is_success:
                try:
                    return response.json()
                except ValueError as exc:
                    raise ModelApiError(
                        "the server answered with invalid JSON",
                        status=response.status_code,
                        endpoint=path,
                        request_id=response.headers.get("x-request-id"),
                    ) from exc
            last_error = _error_from_response(response, path)
        logger.warning(
            "model API %s %s failed (attempt %d): %s", method, path, attempt + 1, last_error
        )
        if not last_error.retryable or attempt == attempts - 1:
            break
        time.sleep(backoff_delay(attempt, last_error.retry_after))
    assert last_error is not None
    raise last_error


def _validate(model: type[M], payload: Any, path: str) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise ModelApiError(
            f"unexpected response shape: {exc.errors()[:3]}", endpoint=path
        ) from exc


def create_embeddings(
    texts: Sequence[str], *, endpoint: Endpoint | None = None
) -> list[list[float]]:
    """Embed ``texts`` in batches of ``EMBEDDING_BATCH_SIZE``; vectors come back in input order."""
    endpoint = endpoint or embeddings_endpoint()
    batch_size = max(1, int(settings.EMBEDDING_BATCH_SIZE))
    vectors: list[list[float]] = []
    for start in range(0, len(texts), batch_size):
        batch = list(texts[start : start + batch_size])
        payload = request_json(
            endpoint,
            "POST",
            "embeddings",
            {"model": endpoint.model, "input": batch, "encoding_format": "float"},
        )
        parsed = _validate(EmbeddingsResponse, payload, "embeddings")
        if len(parsed.data) != len(batch):
            raise ModelApiError(
                f"asked for {len(batch)} embeddings, got {len(parsed.data)}", endpoint="embeddings"
            )
        vectors.extend(item.vector() for item in sorted(parsed.data, key=lambda item: item.index))
    return vectors


def match_reranked(docs: Sequence[str], results: Sequence[tuple[str, float]]) -> list[RankedDoc]:
    """Map Groq's index-less ``{doc, score}`` results back to positions, duplicates included."""
    positions: dict[str, list[int]] = defaultdict(list)
    for index, doc in enumerate(docs):
        positions[doc].append(index)
    ranked: list[RankedDoc] = []
    for doc, score in results:
        free = positions.get(doc)
        if free:
            ranked.append(RankedDoc(free.pop(0), score))
    ranked.sort(key=lambda item: item.score, reverse=True)
    return ranked


def rerank(query: str, docs: Sequence[str], *, endpoint: Endpoint | None = None) -> list[RankedDoc]:
    """Rerank ``docs`` for ``query`` through Groq's ``/reranking``; best first."""
    endpoint = endpoint or rerank_endpoint()
    if not docs:
        return []
    payload = request_json(
        endpoint, "POST", "reranking", {"model": endpoint.model, "query": query, "docs": list(docs)}
    )
    parsed = _validate(GroqRerankResponse, payload, "reranking")
    return match_reranked(docs, [(item.doc, item.score) for item in parsed.results])


def chat_completion(
    messages: Sequence[dict[str, str]],
    *,
    documents: Sequence[ChatDocument] = (),
    max_tokens: int | None = None,
    temperature: float | None = None,
    endpoint: Endpoint | None = None,
) -> ChatCompletion:
    """One non-streamed chat completion, with ``documents`` and citations when given."""
    endpoint = endpoint or chat_endpoint()
    body: dict[str, Any] = {
        "model": endpoint.model,
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
    }
    if documents:
        body["documents"] = [doc.wire() for doc in documents]
        body["citation_options"] = "enabled"
    if max_tokens is not None:
        body["max_completion_tokens"] = max_tokens
    if temperature is not None:
        body["temperature"] = temperature
    payload = request_json(endpoint, "POST", "chat/completions", body)
    completion = _validate(ChatCompletion, payload, "chat/completions")
    if not completion.choices:
        raise ModelApiError("the server returned no choices", endpoint="chat/completions")
    return completion


def list_models(*, endpoint: Endpoint | None = None) -> ModelList:
    endpoint = endpoint or chat_endpoint()
    return _validate(ModelList, request_json(endpoint, "GET", "models"), "models")
