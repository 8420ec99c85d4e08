"""POST /ask: the answer as JSON, or with ``"stream": true`` as Server-Sent Events.

One pipeline: ``apps.chat.answering.answer_events``, the one the browser's form and its
streamed view run. The stream carries the browser's events (``meta``, ``delta``,
``citation``, ``error``, rendered by ``apps.chat.sse``) except ``done``, whose data here
is the stored answer as JSON (``AnswerOut``) instead of HTML. Each question counts
against the ask rate limit (``apps.api.ratelimit``) before the model is asked.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator
from contextlib import closing
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from ninja import Router

from apps.api.auth import request_token, token_user
from apps.api.common import READ_ERRORS, chosen_bases
from apps.api.conversations import citation_out, sources_out
from apps.api.errors import ApiError, ErrorBody, model_server_error
from apps.api.ratelimit import check_ask_allowed
from apps.api.schemas import AnswerOut, AskIn, Timings
from apps.chat.answering import answer_events
from apps.chat.events import AnswerEvent, Failed, Finished, TextDelta
from apps.chat.models import Conversation, Message
from apps.chat.sse import DATABASE_STOPPED, render_event, sse
from apps.search.filters import DocumentFilter, document_filter

logger = logging.getLogger(__name__)

router = Router()

STREAM_DOC = {
    "responses": {
        200: {  # an int, as ninja keys its responses (a "200" would be a second key)
            "description": 'The answer; with "stream": true, Server-Sent Events ending with '
            "`done` (its data: the JSON answer) or `error` ({message, partial}).",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    }
}


def answer_out(message: Message) -> AnswerOut:
    metadata: dict[str, Any] = message.metadata or {}
    citations = message.citation_list
    return AnswerOut(
        conversation=message.conversation_id,
        message=message.pk,
        text=message.content,
        citations=[citation_out(c) for c in citations],
        sources=sources_out(citations),
        usage=message.usage or {},
        timings=Timings(
            ttft_seconds=metadata.get("ttft_seconds"),
            generate_seconds=metadata.get("generate_seconds"),
            total_seconds=metadata.get("total_seconds"),
        ),
        model=message.model_name,
        search_query=str(metadata.get("search_query", "")),
        note=str(metadata.get("note", "")),
    )


def api_sse_stream(events: Generator[AnswerEvent, None, None]) -> Iterator[bytes]:
    """``apps.chat.sse.sse_stream`` with a JSON ``done``: closing it closes the pipeline."""
    partial: list[str] = []
    with closing(events):
        try:
            for event in events:
                if isinstance(event, TextDelta):
                    partial.append(event.text)
                if isinstance(event, Finished):
                    answer = answer_out(event.outcome.message)
                    yield sse("done", answer.model_dump(mode="json"))
                else:
                    yield render_event(event)
        except (OperationalError, InterfaceError) as exc:
            logger.warning("database unavailable during a streamed API answer: %s", exc)
            yield sse("error", {"message": DATABASE_STOPPED, "partial": "".join(partial)})


def _conversation(request: HttpRequest, pk: int | None) -> Conversation | None:
    if pk is None:
        return None
    return get_object_or_404(Conversation, pk=pk, user=token_user(request))


def _filter_of(body: AskIn) -> DocumentFilter:
    if body.added_after and body.added_before and body.added_after > body.added_before:
        raise ApiError(400, "added_after is later than added_before.", code="invalid_filter")
    return document_filter(
        document_ids=body.documents,
        file_types=[t.value for t in body.file_types],
        added_after=body.added_after,
        added_before=body.added_before,
    )


@router.post(
    "/ask",
    response={200: AnswerOut, **READ_ERRORS, 429: ErrorBody, 502: ErrorBody},
    openapi_extra=STREAM_DOC,
    url_name="ask",
    summary="Ask a question",
)
def ask(request: HttpRequest, body: AskIn) -> Any:
    """An answer with citations from the readable knowledge bases (all, or the ones named),
    stored as a conversation (``conversation`` continues one of yours). A model server that
    fails gives 502/503 with its reason; nothing is stored then."""
    conversation = _conversation(request, body.conversation)
    knowledge_base_ids = chosen_bases(request, body.knowledge_bases)
    narrowed = _filter_of(body)
    check_ask_allowed(request_token(request))
    events = answer_events(
        user=token_user(request),
        question=body.question,
        knowledge_base_ids=knowledge_base_ids,
        conversation=conversation,
        stream=body.stream,
        document_filter=narrowed,
    )
    if body.stream:
        response = StreamingHttpResponse(api_sse_stream(events), content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response
    with closing(events):
        for event in events:
            if isinstance(event, Failed):
                raise model_server_error(event.error)
            if isinstance(event, Finished):
                return answer_out(event.outcome.message)
    raise AssertionError("the ask pipeline ended without an outcome")
