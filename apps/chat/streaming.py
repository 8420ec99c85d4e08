"""The ask pipeline, streamed to the browser as Server-Sent Events.

Events: ``meta`` (passages found), ``delta`` (answer text as it arrives), ``citation``
(a marker, as soon as its annotation arrives), ``done`` (the stored answer, rendered),
``error`` (a sentence for the user; nothing was stored). Closing the response (the
stop button) closes the upstream request. Time to first token and total time are
recorded on the stored answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.models import User
from django.template.loader import render_to_string

from apps.chat.answering import (
    NO_PASSAGES,
    chat_messages,
    citation_mode,
    documents_for,
    final_citations,
    store_exchange,
)
from apps.chat.citations import normalise_annotations
from apps.chat.followup import history_messages, standalone_question
from apps.chat.models import Conversation
from apps.modelapi.client import (
    ModelApiError,
    StreamDelta,
    StreamEnd,
    chat_endpoint,
    stream_chat_completion,
)
from apps.modelapi.streaming import StreamedMessage
from apps.search.retrieval import retrieve


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def stream_ask(
    *,
    user: User,
    question: str,
    knowledge_base_ids: list[int],
    conversation: Conversation | None,
) -> Iterator[bytes]:
    started = time.monotonic()
    history = history_messages(conversation, user=user)
    try:
        search_query = standalone_question(question, history)
        retrieval = retrieve(
            user=user, question=search_query, knowledge_base_ids=knowledge_base_ids
        )
    except ModelApiError as exc:
        yield sse("error", {"message": exc.user_message})
        return
    yield sse(
        "meta",
        {
            "passages": len(retrieval.passages),
            "note": retrieval.note,
            "search_query": search_query if search_query != question else "",
        },
    )
    collected = StreamedMessage()
    metadata: dict[str, Any] = {"reranked": retrieval.reranked, "note": retrieval.note}
    if search_query != question:
        metadata["search_query"] = search_query
    if retrieval.passages:
        mode = citation_mode(chat_endpoint())
        messages, documents = chat_messages(
            question, retrieval.passages, mode=mode, history=history
        )
        _, by_id = documents_for(retrieval.passages)
        numbers: dict[int, int] = {}
        try:
            for event in stream_chat_completion(messages, documents=documents):
                collected.add(event)
                if isinstance(event, StreamEnd):
                    continue
                if event.content and "ttft_seconds" not in metadata:
                    metadata["ttft_seconds"] = round(time.monotonic() - started, 3)
                yield from _delta_events(event, collected.content, by_id, numbers)
        except ModelApiError as exc:
            yield sse("error", {"message": exc.user_message, "partial": collected.content})
            return
        content, citations = final_citations(collected.content, collected.annotations, by_id)
        end = collected.end
        metadata.update(
            model=(end.model if end else "") or "",
            request_id=end.request_id if end else None,
            usage=end.usage.model_dump() if end and end.usage else {},
            reasoning=collected.reasoning,
            citation_mode=mode,
            passages_sent=len(retrieval.passages),
            history_messages=len(history),
        )
    else:
        content, citations = NO_PASSAGES, []
        yield sse("delta", {"text": content})
    metadata["total_seconds"] = round(time.monotonic() - started, 3)
    outcome = store_exchange(
        user=user,
        question=question,
        knowledge_base_ids=knowledge_base_ids,
        conversation=conversation,
        content=content,
        citations=citations,
        retrieval=retrieval,
        metadata=metadata,
    )
    html = render_to_string("chat/_message.html", {"message": outcome.message})
    yield sse(
        "done",
        {
            "conversation_url": f"/c/{outcome.conversation.pk}/",
            "message_id": outcome.message.pk,
            "html": html,
        },
    )


def _delta_events(
    event: StreamDelta, content_so_far: str, by_id: dict[str, Any], numbers: dict[int, int]
) -> Iterator[bytes]:
    if event.content:
        yield sse("delta", {"text": event.content})
    for citation in normalise_annotations(content_so_far, list(event.annotations), by_id):
        number = numbers.setdefault(citation.chunk_id, len(numbers) + 1)
        yield sse(
            "citation",
            {"number": number, "end": citation.end, "title": citation.title, "page": citation.page},
        )
