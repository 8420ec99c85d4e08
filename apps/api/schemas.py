"""The API's request and response bodies (pydantic, through ninja's ``Schema``).

Inputs are bounded (lengths, list sizes, id ranges) so that no request can ask for
unbounded work; text inputs lose their control characters as the browser's forms do.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from ninja import Schema
from pydantic import AfterValidator, Field

from apps.chat.forms import MAX_QUESTION_CHARS
from apps.knowledge.cleaning import clean_text
from apps.search.filters import MAX_FILTER_DOCUMENTS

MAX_ID = 2**63 - 1  # a bigint
MAX_PAGE = 100
MAX_OFFSET = 1_000_000
MAX_QUERY_CHARS = 500

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


# Some character that is neither a control character nor white space: the same class in the
# OpenAPI document (JSON Schema's unanchored ``pattern``) and in the check below, so a client
# generating from the document and the server agree on what is blank.
VISIBLE = r"[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
_VISIBLE = re.compile(VISIBLE)


def _clean_required(value: str) -> str:
    cleaned = clean_text(value).strip()  # lone surrogates go too (no UTF-8 text holds them)
    if not _VISIBLE.search(value) or not cleaned:
        raise ValueError("must hold some text, not only spaces or control characters")
    return cleaned


CleanText = Annotated[
    str,
    Field(min_length=1, json_schema_extra={"pattern": VISIBLE}),
    AfterValidator(_clean_required),
]


class FileType(StrEnum):
    """The search page's file-type filter (``apps.search.filters.FILE_TYPES``)."""

    PDF = "pdf"
    WORD = "word"
    SHEETS = "sheets"
    SLIDES = "slides"
    BOOKS = "books"
    IMAGES = "images"
    TEXT = "text"
    WEB = "web"
    DATA = "data"
    EMAIL = "email"


# --- Knowledge bases and documents ---


class KnowledgeBaseOut(Schema):
    id: int
    name: str
    description: str
    instructions: str = Field(description="What its owners add to the model's instructions.")
    shared_with_all: bool
    manageable: bool = Field(description="Whether this token's user may manage its documents.")
    created_at: datetime


class DocumentOut(Schema):
    id: int
    knowledge_base: int
    title: str
    source_kind: str = Field(description='"file", "url" or "text".')
    source_url: str
    mime_type: str
    status: str = Field(description='"queued", "processing", "ready" or "failed".')
    stage: str
    percent: int
    chunks: int
    error: str
    created_at: datetime
    updated_at: datetime
    url: str = Field(description="The document's page in this app.")


class UploadItem(Schema):
    name: str
    error: str = Field(description="Why the item was not added; empty when it was.")
    duplicate: bool
    document: DocumentOut | None


class UploadOut(Schema):
    items: list[UploadItem]


class AddUrlIn(Schema):
    url: str = Field(min_length=1, max_length=2000)


# --- Search ---

START_SECONDS = "Seconds from the start of the recording where the passage is said; null for text."
END_SECONDS = "Seconds from the start of the recording where the passage ends; null for text."


class Span(Schema):
    start: int
    end: int


class PassageDocument(Schema):
    id: int
    title: str
    mime_type: str
    source_url: str = Field(description="Where a web page came from; empty for a file.")
    url: str = Field(description="The passage in its document's page in this app.")


class KnowledgeBaseRef(Schema):
    id: int
    name: str


class SearchHit(Schema):
    chunk_id: int
    score: float
    document: PassageDocument
    knowledge_base: KnowledgeBaseRef
    page: int | None
    page_kind: str = Field(description='What ``page`` counts: "page" or "slide".')
    start_seconds: float | None = Field(description=START_SECONDS)
    end_seconds: float | None = Field(description=END_SECONDS)
    heading: str
    section: str = Field(description='The heading path: "Guide › Travel › Hotels".')
    text: str
    snippet: str = Field(description="About 420 characters around the first match.")
    highlights: list[Span] = Field(description="Where the query's words are in ``snippet``.")
    snippet_html: str = Field(description="``snippet`` escaped, matches in <mark>.")


class SearchOut(Schema):
    query: str
    results: list[SearchHit]
    reranked: bool
    hidden: int = Field(description="Weak matches left out (ask again with all=true).")
    note: str


# --- Ask and conversations ---


class AskIn(Schema):
    question: CleanText = Field(max_length=MAX_QUESTION_CHARS)
    knowledge_bases: list[Id] | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Knowledge base ids to ask (one you may not read is not found: 404); "
        "all readable ones when null.",
    )
    conversation: Id | None = Field(
        default=None, description="A conversation of yours to continue (a follow-up)."
    )
    stream: bool = Field(
        default=False,
        description="Server-Sent Events (meta, delta, citation, done, error) instead of JSON.",
    )
    documents: list[Id] = Field(
        default_factory=list,
        max_length=MAX_FILTER_DOCUMENTS,
        description="Answer from these documents only (and their attachments).",
    )
    file_types: list[FileType] = Field(
        default_factory=list, description="Answer from documents of these types only."
    )
    added_after: date | None = Field(default=None, description="Documents added on or after.")
    added_before: date | None = Field(default=None, description="Documents added on or before.")


class CitationOut(Schema):
    number: int
    start: int = Field(description="Where the cited span starts in ``text``.")
    end: int
    chunk_id: int
    document_id: int
    title: str
    page: int | None
    page_kind: str
    start_seconds: float | None = Field(description=START_SECONDS)
    end_seconds: float | None = Field(description=END_SECONDS)
    section: str = Field(description="The heading path of the cited passage.")
    url: str = Field(description="The source's own URL, for a web page; else empty.")
    document_url: str = Field(description="The cited passage in this app.")
    text: str = Field(description="The cited passage.")
    kind: str = Field(description="document_citation, file_citation, url_citation or marker.")


class SourceOut(Schema):
    """One entry per citation number."""

    number: int
    document_id: int
    title: str
    page: int | None
    page_kind: str
    start_seconds: float | None = Field(description=START_SECONDS)
    end_seconds: float | None = Field(description=END_SECONDS)
    section: str
    url: str
    document_url: str


class Timings(Schema):
    ttft_seconds: float | None = None
    generate_seconds: float | None = None
    total_seconds: float | None = None


class AnswerOut(Schema):
    conversation: int
    message: int
    text: str
    citations: list[CitationOut]
    sources: list[SourceOut]
    usage: dict[str, Any]
    timings: Timings
    model: str
    search_query: str = Field(description="The reworded search of a follow-up, if any.")
    note: str
    withheld: bool = Field(
        default=False, description="True when sources are no longer readable: text withheld."
    )


class ConversationMessage(Schema):
    id: int
    role: str
    text: str
    created_at: datetime
    citations: list[CitationOut]
    sources: list[SourceOut]
    withheld: bool


class ConversationOut(Schema):
    id: int
    title: str
    knowledge_bases: list[int]
    created_at: datetime
    updated_at: datetime


class ConversationDetail(ConversationOut):
    messages: list[ConversationMessage]


class ConversationPage(Schema):
    items: list[ConversationOut]
    count: int
    limit: int
    offset: int


class DocumentPage(Schema):
    items: list[DocumentOut]
    count: int
    limit: int
    offset: int


class KnowledgeBasePage(Schema):
    items: list[KnowledgeBaseOut]
    count: int
    limit: int
    offset: int


class Deleted(Schema):
    deleted: bool = True
    id: int


class Queued(Schema):
    queued: bool = True
    document: DocumentOut
