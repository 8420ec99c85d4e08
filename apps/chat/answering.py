"""The ask pipeline, one for every way of asking.

history → standalone question → retrieve → messages (passages as ``documents`` or
numbered in the prompt) → chat model → citations → metadata → store. ``answer_events``
yields typed events as the answer forms; ``ask`` runs it to the end (the plain POST),
``apps.chat.sse`` renders the same events as Server-Sent Events (the page's script).
The model call is streamed or not; both store the same Message.
``unstored_answer_events`` is the same pipeline without the storing step, for the
OpenAI-compatible endpoint (its client keeps the conversation).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.contrib.auth.models import User
from django.db import transaction

from apps.chat.asking import finish_metadata, passage_json, retrieve_for
from apps.chat.citations import Citation, citations_from_markers, normalise_annotations
from apps.chat.events import (
    AnswerEvent,
    AnswerOutcome,
    CitationAdded,
    Failed,
    Finished,
    Retrieved,
    TextDelta,
)
from apps.chat.followup import history_messages, standalone_question
from apps.chat.models import Conversation, Message
from apps.chat.prompts import chat_messages, citation_mode, documents_for
from apps.modelapi import observe
from apps.modelapi.client import (
    ModelApiError,
    StreamDelta,
    StreamedMessage,
    StreamEnd,
    StreamEvent,
    chat_completion,
    chat_endpoint,
    is_request_too_large,
    stream_chat_completion,
)
from apps.modelapi.schemas import Annotation, ChatDocument
from apps.search.filters import NO_FILTER, DocumentFilter
from apps.search.retrieval import Passage, RetrievalResult

logger = logging.getLogger(__name__)

NO_PASSAGES = "No passage in the selected knowledge bases matches this question."


class GeneratedAnswer(NamedTuple):
    content: str
    citations: list[Citation]
    metadata: dict[str, Any]


# --- The model call ---


def _model_events(
    messages: list[dict[str, str]], documents: list[ChatDocument], *, stream: bool
) -> Iterator[StreamEvent]:
    """The model's answer as stream events, whether it is streamed or arrives whole."""
    if stream:
        yield from stream_chat_completion(messages, documents=documents)
        return
    completion = chat_completion(messages, documents=documents)
    choice = completion.choices[0]
    annotations = tuple(choice.message.annotations or ())
    yield StreamDelta(choice.message.content or "", choice.message.reasoning or "", annotations)
    request_id = completion.x_groq.id if completion.x_groq else completion.id
    yield StreamEnd(choice.finish_reason, completion.usage, request_id, completion.model)


def _after(first: StreamEvent, rest: Iterator[StreamEvent]) -> Generator[StreamEvent, None, None]:
    yield first
    yield from rest  # closing this closes ``rest`` and with it the upstream request


def _open_shrinking(
    question: str,
    passages: list[Passage],
    *,
    mode: str,
    history: Sequence[dict[str, str]],
    stream: bool,
    instructions: Sequence[tuple[str, str]] = (),
) -> tuple[Generator[StreamEvent, None, None], list[Passage]]:
    """Open the model call; return its events and the passages it was sent with.

    A 413 before any text (this request alone is too big) retries with half the passages.
    """
    while True:
        messages, documents = chat_messages(
            question, passages, mode=mode, history=history, instructions=instructions
        )
        events = _model_events(messages, documents, stream=stream)
        try:
            first = next(events)
        except ModelApiError as exc:
            if not is_request_too_large(exc) or len(passages) <= 1:
                raise
            logger.info("chat request too large with %d passages; halving", len(passages))
            passages = passages[: len(passages) // 2]
            continue
        return _after(first, events), passages


def final_citations(
    content: str, annotations: list[Annotation], by_id: dict[str, Passage]
) -> tuple[str, list[Citation]]:
    """Citations of a finished answer: annotations, or ``[n]`` markers when there are none."""
    if annotations:
        return content, normalise_annotations(content, annotations, by_id)
    return citations_from_markers(content, by_id)


def _model_metadata(said: StreamedMessage, *, mode: str, passages_sent: int) -> dict[str, Any]:
    end = said.end
    return {
        "model": (end.model if end else "") or "",
        "request_id": end.request_id if end else None,
        "usage": end.usage.model_dump() if end and end.usage else {},
        "reasoning": said.reasoning,
        "citation_mode": mode,
        "passages_sent": passages_sent,
    }


def _seconds_since(start: float, until: float | None = None) -> float:
    return round((time.monotonic() if until is None else until) - start, 3)


def generation_events(
    question: str,
    retrieval: RetrievalResult,
    history: Sequence[dict[str, str]] = (),
    *,
    stream: bool,
    said: StreamedMessage | None = None,
    started: float | None = None,
    instructions: Sequence[tuple[str, str]] = (),
) -> Generator[TextDelta | CitationAdded, None, GeneratedAnswer]:
    """Ask the chat model with the passages: its text and citations as they arrive, then
    (as the generator's return value) the finished answer.

    ``said`` gathers what the model has said so far (the partial answer when this raises
    ``ModelApiError``); ``started`` is when the question came, for the time to first text;
    ``instructions`` are the knowledge bases' own additions to the system prompt.
    """
    said = StreamedMessage() if said is None else said
    called = time.monotonic()
    started = called if started is None else started
    if not retrieval.passages:
        yield TextDelta(NO_PASSAGES)
        metadata = _model_metadata(said, mode="", passages_sent=0)
        metadata.update(ttft_seconds=_seconds_since(started), generate_seconds=0.0)
        return GeneratedAnswer(NO_PASSAGES, [], metadata)
    mode = citation_mode(chat_endpoint())
    events, sent = _open_shrinking(
        question,
        retrieval.passages,
        mode=mode,
        history=history,
        stream=stream,
        instructions=instructions,
    )
    _, by_id = documents_for(sent)
    numbers: dict[int, int] = {}  # chunk id → marker number, in order of arrival
    first_text: float | None = None
    with closing(events):
        for event in events:
            said.add(event)
            if not isinstance(event, StreamDelta):
                continue
            if event.content:
                first_text = first_text or time.monotonic()
                yield TextDelta(event.content)
            for cited in normalise_annotations(said.content, list(event.annotations), by_id):
                yield CitationAdded(numbers.setdefault(cited.chunk_id, len(numbers) + 1), cited)
    content, citations = final_citations(said.content, said.annotations, by_id)
    metadata = _model_metadata(said, mode=mode, passages_sent=len(sent))
    metadata.update(
        ttft_seconds=_seconds_since(started, first_text), generate_seconds=_seconds_since(called)
    )
    return GeneratedAnswer(content, citations, metadata)


def generate_answer(
    question: str,
    retrieval: RetrievalResult,
    history: Sequence[dict[str, str]] = (),
    *,
    stream: bool = False,
) -> GeneratedAnswer:
    """The model step alone, run to the end (the benchmark times it on its own)."""
    generation = generation_events(question, retrieval, history, stream=stream)
    while True:
        try:
            next(generation)
        except StopIteration as done:
            answer: GeneratedAnswer = done.value
            return answer


# --- Storing ---


def store_exchange(
    *,
    user: User,
    question: str,
    knowledge_base_ids: list[int],
    conversation: Conversation | None,
    content: str,
    citations: list[Citation],
    retrieval: RetrievalResult,
    metadata: dict[str, Any],
) -> AnswerOutcome:
    """Store the question and its complete answer together (never a half answer)."""
    with transaction.atomic():
        if conversation is None:
            conversation = Conversation.objects.create(user=user, title=question[:200])
            conversation.knowledge_bases.set(knowledge_base_ids)
        Message.objects.create(conversation=conversation, role=Message.Role.USER, content=question)
        answer = Message.objects.create(
            conversation=conversation,
            role=Message.Role.ASSISTANT,
            content=content,
            citations=[c.as_json() for c in citations],
            retrieved=[passage_json(p) for p in retrieval.passages],
            model_name=str(metadata.get("model", "")),
            usage=metadata.pop("usage", {}),
            metadata=metadata,
            knowledge_base_ids=sorted(set(knowledge_base_ids)),
        )
        conversation.save(update_fields=["updated_at"])
    return AnswerOutcome(conversation, answer)


# --- The pipeline ---


AddPassages = Callable[[str, RetrievalResult], RetrievalResult]
"""A hook that adds passages to what retrieval found: ``(search query, result) → result``."""


@dataclass(frozen=True)
class Answered:
    """A finished answer before it is stored (or for a caller that does not store it)."""

    content: str
    citations: list[Citation]
    retrieval: RetrievalResult
    metadata: dict[str, Any]


def unstored_answer_events(
    *,
    user: User,
    question: str,
    knowledge_base_ids: list[int],
    history: Sequence[dict[str, str]],
    stream: bool,
    add_passages: AddPassages | None = None,
    started: float | None = None,
    document_filter: DocumentFilter = NO_FILTER,
) -> Generator[Retrieved | TextDelta | CitationAdded | Failed, None, Answered | None]:
    """The ask pipeline without its storing step: ``Retrieved``, then ``TextDelta`` /
    ``CitationAdded`` as they arrive; the finished answer is the generator's return value
    (``None`` after ``Failed``). ``history`` are the earlier turns as chat messages (the
    OpenAI-compatible endpoint gets them from its request); ``add_passages`` may add
    passages after retrieval (that endpoint's request ``documents``); ``document_filter``
    narrows retrieval to some documents, file types or dates added.
    """
    started = time.monotonic() if started is None else started
    observe.count_question()
    try:
        search_query = standalone_question(question, history)
        retrieval, profile = retrieve_for(
            user=user,
            search_query=search_query,
            knowledge_base_ids=knowledge_base_ids,
            document_filter=document_filter,
        )
        if add_passages is not None:
            retrieval = add_passages(search_query, retrieval)
    except ModelApiError as exc:
        yield Failed(exc.user_message, "", exc)
        return None
    reworded = search_query if search_query != question else ""
    yield Retrieved(retrieval, reworded)
    said = StreamedMessage()  # what the model has said so far: the partial answer on failure
    try:
        content, citations, metadata = yield from generation_events(
            question,
            retrieval,
            history,
            stream=stream,
            said=said,
            started=started,
            instructions=profile.instructions,
        )
    except ModelApiError as exc:
        yield Failed(exc.user_message, said.content, exc)
        return None
    metadata = finish_metadata(
        metadata,
        user=user,
        retrieval=retrieval,
        history=history,
        started=started,
        reworded=reworded,
        document_filter=document_filter,
    )
    return Answered(content, citations, retrieval, metadata)


def answer_events(
    *,
    user: User,
    question: str,
    knowledge_base_ids: list[int],
    conversation: Conversation | None = None,
    stream: bool,
    document_filter: DocumentFilter = NO_FILTER,
) -> Generator[AnswerEvent, None, None]:
    """Answer ``question`` from the readable knowledge bases, event by event, and store both
    turns: ``Retrieved``, ``TextDelta``/``CitationAdded`` as they arrive, then ``Finished``;
    or ``Failed`` when a model server fails (nothing is stored then). ``stream`` streams
    the model call. A follow-up is searched for as a standalone question and answered with
    the history. Closing the iterator closes the upstream request.
    """
    started = time.monotonic()
    answered = yield from unstored_answer_events(
        user=user,
        question=question,
        knowledge_base_ids=knowledge_base_ids,
        history=history_messages(conversation, user=user),
        stream=stream,
        started=started,
        document_filter=document_filter,
    )
    if answered is None:
        return
    outcome = store_exchange(
        user=user,
        question=question,
        knowledge_base_ids=knowledge_base_ids,
        conversation=conversation,
        content=answered.content,
        citations=answered.citations,
        retrieval=answered.retrieval,
        metadata=answered.metadata,
    )
    yield Finished(outcome)


def ask(
    *,
    user: User,
    question: str,
    knowledge_base_ids: list[int],
    conversation: Conversation | None = None,
    document_filter: DocumentFilter = NO_FILTER,
) -> AnswerOutcome:
    """``answer_events`` run to the end with one non-streamed model call: the stored answer.

    Raises ``ModelApiError`` when a model server fails; nothing is stored then.
    """
    for event in answer_events(
        user=user,
        question=question,
        knowledge_base_ids=knowledge_base_ids,
        conversation=conversation,
        stream=False,
        document_filter=document_filter,
    ):
        if isinstance(event, Failed):
            raise event.error
        if isinstance(event, Finished):
            return event.outcome
    raise AssertionError("the ask pipeline ended without an outcome")
