"""HTTP transport to model servers: httpx clients, retries with backoff, the rate limiter.

The only module (with ``chat_stream``) that holds httpx calls to model servers. Every request has a
timeout; failures become ``ModelApiError`` with the server's request id. Each request carries
ours as ``X-Request-ID`` (so the model server's logs show it) and reports its time and its
failures through ``apps.modelapi.observe``.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from pydantic import ValidationError

from apps.modelapi import observe
from apps.modelapi.errors import ModelApiError
from apps.modelapi.ratelimit import RateLimiter
from apps.modelapi.schemas import ErrorEnvelope
from apps.modelapi.tokens import request_tokens

logger = logging.getLogger(__name__)

MAX_RETRY_AFTER_SECONDS = 60.0
MAX_BACKOFF_SECONDS = 8.0

# Indirections that tests replace to observe waits without waiting.
sleep: Callable[[float], None] = time.sleep
limiter = RateLimiter(sleep=lambda seconds: sleep(seconds))


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    api_key: str
    model: str


def embeddings_endpoint() -> Endpoint:
    return Endpoint(
        settings.EMBEDDINGS_BASE_URL, settings.EMBEDDINGS_API_KEY, settings.EMBEDDING_MODEL
    )


def rerank_endpoint() -> Endpoint:
    return Endpoint(settings.RERANK_BASE_URL, settings.RERANK_API_KEY, settings.RERANK_MODEL)


def chat_endpoint() -> Endpoint:
    return Endpoint(settings.CHAT_BASE_URL, settings.CHAT_API_KEY, settings.CHAT_MODEL)


def transcription_endpoint() -> Endpoint:
    return Endpoint(
        settings.TRANSCRIPTION_BASE_URL,
        settings.TRANSCRIPTION_API_KEY,
        settings.TRANSCRIPTION_MODEL,
    )


@dataclass(frozen=True)
class Multipart:
    """A ``multipart/form-data`` body: form fields (a list value repeats the field) and files
    as ``name → (filename, bytes, content type)``."""

    fields: dict[str, str | list[str]]
    files: dict[str, tuple[str, bytes, str]]


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


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """``retry-after-ms`` or ``retry-after`` (seconds), capped at 60 s."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw:
            try:
                return min(max(float(raw) * scale, 0.0), MAX_RETRY_AFTER_SECONDS)
            except ValueError:
                continue
    return None


def backoff_delay(attempt: int, retry_after: float | None) -> float:
    """Seconds before retry number ``attempt`` (0-based): the server's word, else 0.5·2ⁿ with jitter."""
    if retry_after is not None:
        return retry_after
    base = min(0.5 * float(2**attempt), MAX_BACKOFF_SECONDS)
    return float(base * (0.5 + random.random() / 2))


def error_from_response(response: httpx.Response, path: str) -> ModelApiError:
    request_id = response.headers.get("x-request-id")
    try:
        text = response.text
    except httpx.ResponseNotRead:
        text = response.read().decode("utf-8", "replace")
    message = text[:500] or response.reason_phrase
    code: str | None = None
    error_type: str | None = None
    try:
        envelope = ErrorEnvelope.model_validate(json.loads(text))
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
        retry_after=retry_after_seconds(response.headers),
        endpoint=path,
    )


def _budget_key(endpoint: Endpoint) -> str:
    """Groq's limits are per model (and per key): chat must not slow down embeddings."""
    return f"{endpoint.base_url}|{endpoint.api_key[-8:]}|{endpoint.model}"


def _attempts() -> int:
    return max(1, int(settings.MODEL_API_MAX_RETRIES) + 1)


# What each path's time counts as in the per-stage latency metric (Cohere and TEI rerank at
# "rerank"; a follow-up's rewording is a chat call too, so it counts as "generate").
STAGES = {
    "embeddings": "embed",
    "reranking": "rerank",
    "rerank": "rerank",
    "chat/completions": "generate",
}


@contextmanager
def _timed(path: str) -> Iterator[None]:
    stage = STAGES.get(path)
    if stage is None:
        yield
        return
    with observe.timed(stage):
        yield


def _request_headers() -> dict[str, str]:
    request_id = observe.current_request_id()
    return {"X-Request-ID": request_id} if request_id else {}


def _failure_status(error: ModelApiError) -> str:
    if error.status is not None:
        return str(error.status)
    return "timeout" if error.message.startswith("timed out") else "connection"


def _log_failure(method: str, path: str, attempt: int, error: ModelApiError) -> None:
    observe.count_model_error(path, _failure_status(error))
    logger.warning(
        "model API %s %s failed (attempt %d, request_id=%s): %s",
        method,
        path,
        attempt + 1,
        error.request_id,
        error,
    )


def _build(
    client: httpx.Client, method: str, path: str, body: dict[str, Any] | Multipart | None
) -> httpx.Request:
    if isinstance(body, Multipart):
        return client.build_request(
            method, path, data=body.fields, files=body.files, headers=_request_headers()
        )
    return client.build_request(method, path, json=body, headers=_request_headers())


def _send(
    endpoint: Endpoint,
    method: str,
    path: str,
    body: dict[str, Any] | Multipart | None,
    *,
    stream: bool,
) -> httpx.Response:
    """One response with a success status, after retries; streamed responses are left open."""
    client = _client_for(endpoint)
    attempts = _attempts()
    tokens = request_tokens(body) if not isinstance(body, Multipart) else 1
    for attempt in range(attempts):
        limiter.wait_turn(_budget_key(endpoint), tokens=tokens)
        try:
            request = _build(client, method, path, body)
            response = client.send(request, stream=stream)
        except httpx.TimeoutException as exc:
            error = ModelApiError(f"timed out: {type(exc).__name__}", endpoint=path)
        except httpx.TransportError as exc:
            error = ModelApiError(f"connection failed: {exc}", endpoint=path)
        else:
            limiter.observe(_budget_key(endpoint), response.headers)
            if response.is_success:
                return response
            error = error_from_response(response, path)
            response.close()
        _log_failure(method, path, attempt, error)
        if not error.retryable or attempt == attempts - 1:
            raise error
        sleep(backoff_delay(attempt, error.retry_after))
    raise AssertionError("unreachable")


def request_json(
    endpoint: Endpoint, method: str, path: str, body: dict[str, Any] | Multipart | None = None
) -> Any:
    """Send one request, retrying what may succeed later; return the decoded JSON."""
    with _timed(path):
        response = _send(endpoint, method, path, body, stream=False)
    try:
        return response.json()
    except ValueError as exc:
        raise ModelApiError(
            "the server answered with invalid JSON",
            status=response.status_code,
            endpoint=path,
            request_id=response.headers.get("x-request-id"),
        ) from exc


@contextmanager
def open_stream(endpoint: Endpoint, path: str, body: dict[str, Any]) -> Iterator[httpx.Response]:
    """A streamed POST: opening it is retried; once bytes flow, failures are the caller's."""
    with _timed(path):
        response = _send(endpoint, "POST", path, body, stream=True)
        try:
            yield response
        finally:
            response.close()


def server_answers(base_url: str, api_key: str, timeout: float) -> bool:
    """Whether the model server at ``base_url`` answers ``GET models`` (readiness probes):
    any answer but a server error or a refused key; no retries, a short timeout."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.get(f"{base_url}/models", headers=headers, timeout=timeout)
    except httpx.HTTPError:
        return False
    return response.status_code < 500 and response.status_code not in (401, 403)
