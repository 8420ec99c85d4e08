"""/api/v1/openai/: the knowledge bases as OpenAI-compatible models, with citations.

``GET models`` lists ``all`` and one ``kb-<id>`` per readable knowledge base;
``POST chat/completions`` answers the last user message through the one ask pipeline
(``apps.chat.answering.unstored_answer_events``) with the earlier messages as history and
the request's ``documents`` searched too, and returns the citations as
``message.annotations`` (``apps.api.openai_annotations``), streamed or not.

Completions are not stored as conversations: like OpenAI's endpoint, the client keeps the
conversation and sends it whole every time, so a stored copy per call would only fill the
user's conversation list with fragments of it.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from ninja import Router, Schema
from pydantic import ValidationError

from apps.api.auth import request_token, token_user
from apps.api.errors import ApiError, ErrorBody, model_server_error
from apps.api.openai_annotations import AnnotationContext, annotation_context
from apps.api.openai_completion import Completion, completion_json
from apps.api.openai_documents import request_documents
from apps.api.openai_messages import question_and_history
from apps.api.openai_models import (
    knowledge_base_ids,
    readable_model,
    readable_models,
    unknown_model_message,
)
from apps.api.openai_schemas import ChatCompletionRequest, request_body_schema
from apps.api.openai_stream import ChunkWriter, PipelineEvents, completion_chunks
from apps.api.ratelimit import check_ask_allowed
from apps.chat.answering import Answered, unstored_answer_events
from apps.chat.events import CitationAdded, Failed, TextDelta

router = Router()
# Each route is also served under ``v1/``: the groq SDK puts ``/openai/v1/`` before every
# path, so ``Groq(base_url=".../api/v1")`` reaches these routes as the openai SDK does
# with ``OpenAI(base_url=".../api/v1/openai")``.


class ModelOut(Schema):
    id: str
    object: str
    created: int
    owned_by: str
    name: str
    description: str


class ModelListOut(Schema):
    object: str
    data: list[ModelOut]


class MessageOut(Schema):
    role: str
    content: str
    annotations: list[dict[str, Any]]


class ChoiceOut(Schema):
    index: int
    message: MessageOut
    logprobs: None
    finish_reason: str


class UsageOut(Schema):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletionOut(Schema):
    id: str
    object: str
    created: int
    model: str
    system_fingerprint: None
    choices: list[ChoiceOut]
    usage: UsageOut


def _model_not_found(identifier: str) -> ApiError:
    return ApiError(404, unknown_model_message(identifier), code="model_not_found")


@router.get(
    "/models",
    response={200: ModelListOut, 401: ErrorBody},
    url_name="openai_models",
    summary="List the models (knowledge bases)",
)
@router.get(
    "/v1/models",
    response={200: ModelListOut, 401: ErrorBody},
    url_name="openai_groq_models",
    include_in_schema=False,
)
def list_models(request: HttpRequest) -> dict[str, Any]:
    """``all`` (every readable knowledge base) and one ``kb-<id>`` per readable base."""
    return {"object": "list", "data": readable_models(token_user(request))}


@router.get(
    "/models/{model_id}",
    response={200: ModelOut, 401: ErrorBody, 404: ErrorBody},
    url_name="openai_model",
    summary="Retrieve a model",
)
@router.get(
    "/v1/models/{model_id}",
    response={200: ModelOut, 401: ErrorBody, 404: ErrorBody},
    url_name="openai_groq_model",
    include_in_schema=False,
)
def retrieve_model(request: HttpRequest, model_id: str) -> dict[str, Any]:
    found = readable_model(token_user(request), model_id)
    if found is None:
        raise _model_not_found(model_id)
    return found


def parse_request(body: bytes) -> ChatCompletionRequest:
    """The request body, or a 400 that says what is wrong with it."""
    try:
        payload = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "The request body is not valid JSON.", code="invalid_json") from exc
    try:
        return ChatCompletionRequest.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        more = len(exc.errors()) - 1
        suffix = f" (and {more} more problems)" if more > 0 else ""
        message = f"The request is not valid: {where}: {first['msg']}{suffix}."
        raise ApiError(400, message, code="invalid_request") from exc


_RESPONSES: dict[int, Any] = {
    200: ChatCompletionOut,
    400: ErrorBody,
    401: ErrorBody,
    404: ErrorBody,
    429: ErrorBody,
    502: ErrorBody,
    503: ErrorBody,
}


@router.post(
    "/chat/completions",
    response=_RESPONSES,
    openapi_extra=request_body_schema(),
    url_name="openai_chat_completions",
    summary="Answer from the knowledge bases, with citation annotations",
)
@router.post(
    "/v1/chat/completions",
    response=_RESPONSES,
    url_name="openai_groq_chat_completions",
    include_in_schema=False,
)
def chat_completions(request: HttpRequest) -> HttpResponseBase:
    """The last user message answered from the model's knowledge bases (and the request's
    ``documents``); ``"stream": true`` sends ``chat.completion.chunk`` events."""
    parsed = parse_request(request.body)
    user = token_user(request)
    question, history = question_and_history(parsed.messages)
    ids = knowledge_base_ids(user, parsed.model)
    if ids is None:
        raise _model_not_found(parsed.model)
    check_ask_allowed(request_token(request))
    documents = request_documents(parsed.document_texts())
    context = None
    if parsed.citation_options != "disabled":
        context = annotation_context(
            user=user, client_ids=documents.client_ids, absolute_url=request.build_absolute_uri
        )
    events = unstored_answer_events(
        user=user,
        question=question,
        knowledge_base_ids=ids,
        history=history,
        stream=bool(parsed.stream),
        add_passages=documents.merged_with_retrieval(),
    )
    completion = Completion(model=parsed.model)
    if parsed.stream:
        return _streamed(events, completion, context, include_usage=parsed.include_usage())
    return JsonResponse(completion_json(completion, _answered(events), context))


def _answered(events: PipelineEvents) -> Answered:
    """The pipeline run to the end; a failed model server is a 502/503."""
    while True:
        try:
            event = next(events)
        except StopIteration as finished:
            answered: Answered | None = finished.value
            break
        if isinstance(event, Failed):
            events.close()
            raise model_server_error(event.error)
    assert answered is not None, "the pipeline ended without an answer or a failure"
    return answered


def _replay(
    first: list[Any], rest: PipelineEvents, *, finished: bool, result: Answered | None
) -> PipelineEvents:
    """The events already taken from ``rest``, then the rest of them."""
    yield from first
    if finished:
        return result
    answered: Answered | None = yield from rest
    return answered


def _streamed(
    events: PipelineEvents,
    completion: Completion,
    context: AnnotationContext | None,
    *,
    include_usage: bool,
) -> HttpResponse | StreamingHttpResponse:
    """Retrieval and the model's first words happen before the response starts, so that a
    model server that fails at once is a 502/503 status, not an error inside a 200 stream."""
    first: list[Any] = []
    finished, result = False, None
    while not first or not isinstance(first[-1], TextDelta | CitationAdded):
        try:
            event = next(events)
        except StopIteration as stop:
            finished, result = True, stop.value
            break
        if isinstance(event, Failed):
            events.close()
            raise model_server_error(event.error)
        first.append(event)
    chunks = completion_chunks(
        _replay(first, events, finished=finished, result=result),
        writer=ChunkWriter(completion),
        context=context,
        include_usage=include_usage,
    )
    response = StreamingHttpResponse(chunks, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
