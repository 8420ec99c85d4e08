"""The ask pipeline's events as Server-Sent Events, for the page's script (static/js/ask.js).

``meta`` (passages found), ``delta`` (answer text as it arrives), ``citation`` (a marker,
as soon as its annotation arrives), ``done`` (the stored answer, rendered), ``error`` (a
sentence for the user and the text that had arrived; nothing was stored). Closing the
response (the stop button) closes the pipeline and with it the upstream request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator, Iterator
from contextlib import closing
from typing import Any

from django.db import InterfaceError, OperationalError
from django.template.loader import render_to_string
from django.urls import reverse

from apps.chat.access import mark_undownloadable
from apps.chat.events import AnswerEvent, CitationAdded, Finished, Retrieved, TextDelta

logger = logging.getLogger(__name__)

DATABASE_STOPPED = (
    "The database stopped answering while this answer was prepared (it may be restarting), "
    "so it was not stored. Try again in a few seconds."
)


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def render_event(event: AnswerEvent) -> bytes:
    """One pipeline event as one Server-Sent Event."""
    if isinstance(event, Retrieved):
        return sse(
            "meta",
            {
                "passages": len(event.retrieval.passages),
                "note": event.retrieval.note,
                "search_query": event.search_query,
            },
        )
    if isinstance(event, TextDelta):
        return sse("delta", {"text": event.text})
    if isinstance(event, CitationAdded):
        cited = event.citation
        return sse(
            "citation",
            {
                "number": event.number,
                "end": cited.end,
                "title": cited.title,
                "page": cited.page,
                "page_kind": cited.page_kind,
                "start_seconds": cited.start_seconds,
                "end_seconds": cited.end_seconds,
            },
        )
    if isinstance(event, Finished):
        conversation, message = event.outcome.conversation, event.outcome.message
        mark_undownloadable(conversation.user, [message])
        return sse(
            "done",
            {
                "conversation_url": reverse("chat:conversation", args=[conversation.pk]),
                "message_id": message.pk,
                "html": render_to_string("chat/_message.html", {"message": message}),
                # The new conversation's title, share and rename controls, for the ask page
                # (its forms get the page's CSRF token from the script).
                "head_html": render_to_string(
                    "chat/_conversation_head.html", {"conversation": conversation}
                ),
            },
        )
    return sse("error", {"message": event.message, "partial": event.partial})


def sse_stream(events: Generator[AnswerEvent, None, None]) -> Iterator[bytes]:
    """The events as SSE bytes; closing this stream closes ``events``. A database that stops
    mid-answer ends the stream with an ``error`` event (the response has begun: no 503)."""
    partial: list[str] = []
    with closing(events):
        try:
            for event in events:
                if isinstance(event, TextDelta):
                    partial.append(event.text)
                yield render_event(event)
        except (OperationalError, InterfaceError) as exc:
            logger.warning("database unavailable during a streamed answer: %s", exc)
            yield sse("error", {"message": DATABASE_STOPPED, "partial": "".join(partial)})
