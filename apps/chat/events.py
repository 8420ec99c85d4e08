"""The events of one answer, in the order the ask pipeline (``answering.answer_events``)
yields them: ``Retrieved``, then ``TextDelta`` and ``CitationAdded`` as the model's answer
arrives, then ``Finished`` with the stored answer, or ``Failed`` (nothing stored)."""

from __future__ import annotations

from dataclasses import dataclass

from apps.chat.citations import Citation
from apps.chat.models import Conversation, Message
from apps.modelapi.errors import ModelApiError
from apps.search.retrieval import RetrievalResult


@dataclass(frozen=True)
class AnswerOutcome:
    conversation: Conversation
    message: Message


@dataclass(frozen=True)
class Retrieved:
    """The passages found; ``search_query`` is set when a follow-up was searched reworded."""

    retrieval: RetrievalResult
    search_query: str


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class CitationAdded:
    """A citation as soon as its annotation arrives, numbered in order of arrival."""

    number: int
    citation: Citation


@dataclass(frozen=True)
class Finished:
    """The stored answer (citations final, ``[n]`` markers removed in prompt mode)."""

    outcome: AnswerOutcome


@dataclass(frozen=True)
class Failed:
    """A model server failed; ``partial`` is the text that had arrived. Nothing was stored."""

    message: str
    partial: str
    error: ModelApiError


AnswerEvent = Retrieved | TextDelta | CitationAdded | Finished | Failed
