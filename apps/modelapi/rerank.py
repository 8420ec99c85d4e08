"""Reranking in every dialect in use, normalised to one ranked list.

- ``groq``: ``POST reranking`` ``{model, query, docs}`` → ``{results: [{doc, score}]}`` (no index)
- ``cohere`` (Cohere, Jina, vLLM, llama.cpp): ``POST rerank`` ``{model, query, documents, top_n}``
  → ``{results: [{index, relevance_score}]}``
- ``tei`` (Hugging Face TEI): ``POST rerank`` ``{query, texts}`` → ``[{index, score}]``

``RERANK_DIALECT=auto`` probes in that order once per server and remembers the answer.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from pydantic import BaseModel, ValidationError

from apps.modelapi.errors import ModelApiError
from apps.modelapi.schemas import GroqRerankResponse
from apps.modelapi.transport import Endpoint, request_json, rerank_endpoint

DIALECTS = ("groq", "cohere", "tei")
MAX_DOCS = 100
# Statuses that mean "this server does not speak that dialect" (route or body unknown).
_NOT_THIS_DIALECT = {400, 404, 405, 415, 422, 501}


@dataclass(frozen=True)
class RankedDoc:
    """A reranked document: its position in the request's list and its score."""

    index: int
    score: float


class RerankUnavailable(ModelApiError):
    """The server has no reranking endpoint in any known dialect."""


class _IndexedResult(BaseModel):
    index: int
    relevance_score: float | None = None
    score: float | None = None

    def value(self) -> float:
        return float(
            self.relevance_score if self.relevance_score is not None else self.score or 0.0
        )


class _CohereResponse(BaseModel):
    results: list[_IndexedResult]


_detected: dict[str, str] = {}
_detected_lock = threading.Lock()


def forget_detected_dialects() -> None:
    with _detected_lock:
        _detected.clear()


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
    return _best_first(ranked)


def _best_first(ranked: list[RankedDoc]) -> list[RankedDoc]:
    return sorted(ranked, key=lambda r: r.score, reverse=True)


def _indexed(results: Sequence[_IndexedResult], count: int) -> list[RankedDoc]:
    seen: set[int] = set()
    ranked = []
    for result in results:
        if 0 <= result.index < count and result.index not in seen:
            seen.add(result.index)
            ranked.append(RankedDoc(result.index, result.value()))
    return _best_first(ranked)


def _groq(endpoint: Endpoint, query: str, docs: Sequence[str]) -> list[RankedDoc]:
    body: dict[str, Any] = {"model": endpoint.model, "query": query, "docs": list(docs)}
    payload = request_json(endpoint, "POST", "reranking", body)
    parsed = GroqRerankResponse.model_validate(payload)
    return match_reranked(docs, [(r.doc, r.score) for r in parsed.results])


def _cohere(endpoint: Endpoint, query: str, docs: Sequence[str]) -> list[RankedDoc]:
    body = {"model": endpoint.model, "query": query, "documents": list(docs), "top_n": len(docs)}
    parsed = _CohereResponse.model_validate(request_json(endpoint, "POST", "rerank", body))
    return _indexed(parsed.results, len(docs))


def _tei(endpoint: Endpoint, query: str, docs: Sequence[str]) -> list[RankedDoc]:
    payload = request_json(endpoint, "POST", "rerank", {"query": query, "texts": list(docs)})
    if not isinstance(payload, list):
        raise ModelApiError("expected a JSON array from TEI /rerank", endpoint="rerank")
    results = [_IndexedResult.model_validate(item) for item in payload]
    return _indexed(results, len(docs))


_CALLS: dict[str, Callable[[Endpoint, str, Sequence[str]], list[RankedDoc]]] = {
    "groq": _groq,
    "cohere": _cohere,
    "tei": _tei,
}


def _call(dialect: str, endpoint: Endpoint, query: str, docs: Sequence[str]) -> list[RankedDoc]:
    try:
        return _CALLS[dialect](endpoint, query, docs)
    except ValidationError as exc:
        raise ModelApiError(
            f"unexpected {dialect} rerank response: {exc.errors()[:2]}", code="bad_shape"
        ) from exc


def _probe(endpoint: Endpoint, query: str, docs: Sequence[str]) -> tuple[str, list[RankedDoc]]:
    last: ModelApiError | None = None
    for dialect in DIALECTS:
        try:
            return dialect, _call(dialect, endpoint, query, docs)
        except ModelApiError as exc:
            if exc.status not in _NOT_THIS_DIALECT and exc.code != "bad_shape":
                raise
            last = exc
    raise RerankUnavailable(
        f"no reranking endpoint answered at {endpoint.base_url} ({last})",
        status=last.status if last else None,
        code="rerank_unavailable",
        endpoint="reranking",
    )


def rerank(query: str, docs: Sequence[str], *, endpoint: Endpoint | None = None) -> list[RankedDoc]:
    """Rerank ``docs`` for ``query``; best first. At most 100 documents per request."""
    endpoint = endpoint or rerank_endpoint()
    docs = list(docs)[:MAX_DOCS]
    if not docs:
        return []
    configured = str(settings.RERANK_DIALECT)
    if configured != "auto":
        return _call(configured, endpoint, query, docs)
    with _detected_lock:
        known = _detected.get(endpoint.base_url)
    if known == "none":
        raise RerankUnavailable(
            f"no reranking endpoint at {endpoint.base_url}", code="rerank_unavailable"
        )
    if known is not None:
        return _call(known, endpoint, query, docs)
    try:
        dialect, ranked = _probe(endpoint, query, docs)
    except RerankUnavailable:
        with _detected_lock:
            _detected[endpoint.base_url] = "none"
        raise
    with _detected_lock:
        _detected[endpoint.base_url] = dialect
    return ranked
