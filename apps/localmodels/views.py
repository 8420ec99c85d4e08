"""The built-in local provider: Groq-shaped ``/embeddings``, ``/reranking``,
``/chat/completions`` and ``/models`` served by the project itself."""

from __future__ import annotations

import base64
import hmac
import ipaddress
import json
import time
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import numpy as np
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import (
    HttpRequest,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from pydantic import BaseModel, ValidationError

from apps.localmodels import answerer, embedder, reranker, transcriber
from apps.localmodels.answer_chunks import stream_answer
from apps.localmodels.rewrite import with_earlier_topic
from apps.localmodels.wire import (
    ChatRequest,
    CohereRerankRequest,
    EmbeddingsRequest,
    RerankRequest,
)

EMBEDDING_MODEL = embedder.MODEL_NAME
RERANK_MODEL = "local-rerank"
CHAT_MODEL = "local-extractive"
MODELS = (EMBEDDING_MODEL, RERANK_MODEL, CHAT_MODEL, transcriber.MODEL_NAME)

# Beyond these a request is refused with 413, as Groq does for oversized requests.
MAX_EMBEDDING_INPUTS = 2048
MAX_INPUT_CHARS = 200_000

R = TypeVar("R", bound=BaseModel)
View = Callable[[HttpRequest], HttpResponseBase]


def error_response(
    status: int, message: str, *, error_type: str = "invalid_request_error", code: str | None = None
) -> JsonResponse:
    return JsonResponse(
        {"error": {"message": message, "type": error_type, "code": code}},
        status=status,
        headers={"x-request-id": _request_id()},
    )


def _request_id() -> str:
    return f"req_{uuid.uuid4().hex}"


def _from_a_web_page(request: HttpRequest) -> bool:
    """Browsers mark cross-origin requests (``Origin``, ``Sec-Fetch-Site``); API clients
    (httpx, the SDKs) send neither. A page must not be able to drive the provider with a
    visitor's loopback address, and the API takes no CSRF token."""
    site = request.headers.get("Sec-Fetch-Site", "")
    return "Origin" in request.headers or site not in ("", "none", "same-origin")


def _caller_allowed(request: HttpRequest) -> bool:
    """With ``LOCAL_PROVIDER_KEY`` set, require it; otherwise serve loopback callers only.
    Requests made by web pages are refused either way."""
    if _from_a_web_page(request):
        return False
    key = settings.LOCAL_PROVIDER_KEY
    if key:
        return hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {key}")
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False  # came through a proxy: the loopback peer is the proxy, not the caller
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def provider_endpoint(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest) -> HttpResponseBase:
        if not _caller_allowed(request):
            return error_response(
                401, "Invalid API Key", error_type="invalid_request_error", code="invalid_api_key"
            )
        return view(request)

    return csrf_exempt(wrapped)


def _parse(model: type[R], request: HttpRequest) -> R | JsonResponse:
    try:
        payload = json.loads(request.body or b"null")
    except RequestDataTooBig:
        return error_response(413, "Request too large.", code="request_too_large")
    except ValueError:
        return error_response(400, "The request body is not valid JSON.")
    try:
        # JSON may spell a lone surrogate ("\ud800"), which no tokenizer takes (it was a 500).
        json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return error_response(400, "The request body holds invalid Unicode (a lone surrogate).")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        return error_response(400, f"'{where}': {first['msg']}")


def _check_model(requested: str, expected: str) -> JsonResponse | None:
    if requested != expected:
        return error_response(
            404,
            f"The model `{requested}` does not exist. This server serves `{expected}`.",
            code="model_not_found",
        )
    return None


def _encode(vector: np.ndarray[Any, Any], encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return [float(x) for x in vector]


@require_POST
@provider_endpoint
def embeddings(request: HttpRequest) -> JsonResponse:
    parsed = _parse(EmbeddingsRequest, request)
    if isinstance(parsed, JsonResponse):
        return parsed
    if error := _check_model(parsed.model, EMBEDDING_MODEL):
        return error
    texts = parsed.texts()
    if not texts or any(not text for text in texts):
        return error_response(400, "'input' must not be empty.")
    if len(texts) > MAX_EMBEDDING_INPUTS or any(len(t) > MAX_INPUT_CHARS for t in texts):
        return error_response(
            413,
            f"Request too large: at most {MAX_EMBEDDING_INPUTS} inputs of {MAX_INPUT_CHARS} characters.",
            code="request_too_large",
        )
    vectors = embedder.embed_texts(texts)
    tokens = embedder.count_tokens(texts)
    return JsonResponse(
        {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": _encode(v, parsed.encoding_format)}
                for i, v in enumerate(vectors)
            ],
            "model": EMBEDDING_MODEL,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


@require_POST
@provider_endpoint
def reranking(request: HttpRequest) -> JsonResponse:
    parsed = _parse(RerankRequest, request)
    if isinstance(parsed, JsonResponse):
        return parsed
    if error := _check_model(parsed.model, RERANK_MODEL):
        return error
    scores = reranker.score_documents(parsed.query, parsed.docs)
    ranked = sorted(zip(parsed.docs, scores, strict=True), key=lambda pair: pair[1], reverse=True)
    return JsonResponse({"results": [{"doc": doc, "score": score} for doc, score in ranked]})


@require_POST
@provider_endpoint
def cohere_rerank(request: HttpRequest) -> JsonResponse:
    """``/rerank`` in the Cohere shape that Jina, vLLM and llama.cpp also speak."""
    parsed = _parse(CohereRerankRequest, request)
    if isinstance(parsed, JsonResponse):
        return parsed
    if error := _check_model(parsed.model, RERANK_MODEL):
        return error
    texts = parsed.texts()
    scores = reranker.score_documents(parsed.query, texts)
    order = sorted(range(len(texts)), key=lambda i: scores[i], reverse=True)[: parsed.top_n]
    results: list[dict[str, Any]] = []
    for index in order:
        item: dict[str, Any] = {"index": index, "relevance_score": scores[index]}
        if parsed.return_documents:
            item["document"] = {"text": texts[index]}
        results.append(item)
    return JsonResponse({"id": _request_id(), "results": results})


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _streamed_completion(
    answer: answerer.Answer, parsed: ChatRequest, *, with_citations: bool, usage: dict[str, int]
) -> StreamingHttpResponse:
    request_id = _request_id()
    events = stream_answer(
        answer,
        model=CHAT_MODEL,
        request_id=request_id,
        with_citations=with_citations,
        usage=usage,
        include_usage=bool(parsed.stream_options and parsed.stream_options.include_usage),
    )
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    response["x-request-id"] = request_id
    return response


@require_POST
@provider_endpoint
def chat_completions(request: HttpRequest) -> HttpResponseBase:
    parsed = _parse(ChatRequest, request)
    if isinstance(parsed, JsonResponse):
        return parsed
    if error := _check_model(parsed.model, CHAT_MODEL):
        return error
    documents = [
        answerer.SourceDocument(doc.id or str(i), doc.source.as_text())
        for i, doc in enumerate(parsed.documents or [])
    ]
    # Follow-ups are read with the conversation's topic. A request without documents is
    # a rewrite request: the answer is the completed question itself, uncited.
    question = with_earlier_topic(parsed.user_texts())
    if parsed.documents is None:
        answer = answerer.Answer(question, [])
    else:
        answer = answerer.answer_question(question, documents)
    with_citations = parsed.citation_options != "disabled"
    usage = _usage(
        embedder.count_tokens([question, *(d.text for d in documents)]),
        embedder.count_tokens([answer.content]),
    )
    if parsed.stream:
        return _streamed_completion(answer, parsed, with_citations=with_citations, usage=usage)
    message: dict[str, Any] = {"role": "assistant", "content": answer.content}
    if with_citations and answer.citations:
        message["annotations"] = [c.annotation() for c in answer.citations]
    request_id = _request_id()
    return JsonResponse(
        {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": CHAT_MODEL,
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
            ],
            "usage": usage,
            "system_fingerprint": None,
            "x_groq": {"id": request_id},
        },
        headers={"x-request-id": request_id},
    )


def _model_json(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "local"}


@require_GET
@provider_endpoint
def models(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"object": "list", "data": [_model_json(name) for name in MODELS]})


@require_GET
def model_detail(request: HttpRequest, model_id: str) -> JsonResponse:
    if not _caller_allowed(request):
        return error_response(401, "Invalid API Key", code="invalid_api_key")
    if model_id not in MODELS:
        return error_response(
            404, f"The model `{model_id}` does not exist.", code="model_not_found"
        )
    return JsonResponse(_model_json(model_id))
