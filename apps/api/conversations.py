"""The token user's conversations: list, one with its messages, delete.

Another user's conversation is not found (404), like the browser's pages; answers whose
sources the user may no longer read are withheld as on the conversation page
(``apps.chat.access``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Path, Query, Router

from apps.api.auth import bearer_write, token_user
from apps.api.common import READ_ERRORS, WRITE_ERRORS, PageParams, page_of
from apps.api.schemas import (
    CitationOut,
    ConversationDetail,
    ConversationMessage,
    ConversationOut,
    ConversationPage,
    Deleted,
    Id,
    SourceOut,
)
from apps.chat.access import withhold_unreadable_sources
from apps.chat.citations import unique_sources
from apps.chat.models import Conversation, Message
from apps.knowledge.links import passage_path, seconds_of
from apps.knowledge.models import KnowledgeBase

router = Router()


def passage_url(citation: dict[str, Any]) -> str:
    document_id = citation.get("document_id")
    if document_id is None:
        return ""
    return passage_path(int(document_id), int(citation.get("chunk_id") or 0))


def citation_out(citation: dict[str, Any]) -> CitationOut:
    return CitationOut(
        number=int(citation["number"]),
        start=int(citation.get("start", 0)),
        end=int(citation.get("end", 0)),
        chunk_id=int(citation.get("chunk_id") or 0),
        document_id=int(citation.get("document_id") or 0),
        title=str(citation.get("title", "")),
        page=citation.get("page"),
        page_kind=str(citation.get("page_kind") or "page"),
        start_seconds=seconds_of(citation.get("start_seconds")),
        end_seconds=seconds_of(citation.get("end_seconds")),
        section=str(citation.get("section") or ""),
        url=str(citation.get("url") or ""),
        document_url=passage_url(citation),
        text=str(citation.get("text", "")),
        kind=str(citation.get("kind") or "marker"),
    )


def sources_out(citations: list[dict[str, Any]]) -> list[SourceOut]:
    return [
        SourceOut(
            number=int(c["number"]),
            document_id=int(c.get("document_id") or 0),
            title=str(c.get("title", "")),
            page=c.get("page"),
            page_kind=str(c.get("page_kind") or "page"),
            start_seconds=seconds_of(c.get("start_seconds")),
            end_seconds=seconds_of(c.get("end_seconds")),
            section=str(c.get("section") or ""),
            url=str(c.get("url") or ""),
            document_url=passage_url(c),
        )
        for c in unique_sources(citations)
    ]


def message_out(message: Message) -> ConversationMessage:
    citations = message.citation_list
    return ConversationMessage(
        id=message.pk,
        role=message.role,
        text=message.content,
        created_at=message.created_at,
        citations=[citation_out(c) for c in citations],
        sources=sources_out(citations),
        withheld=bool((message.metadata or {}).get("withheld")),
    )


def conversation_out(conversation: Conversation) -> ConversationOut:
    return ConversationOut(
        id=conversation.pk,
        title=conversation.title,
        knowledge_bases=[kb.pk for kb in conversation.knowledge_bases.all()],
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
    )


def own_conversation(request: HttpRequest, pk: int) -> Conversation:
    return get_object_or_404(Conversation, pk=pk, user=token_user(request))


@router.get(
    "",
    response={200: ConversationPage, **READ_ERRORS},
    url_name="conversations",
    summary="Your conversations",
)
def list_conversations(request: HttpRequest, params: Query[PageParams]) -> ConversationPage:
    """Newest first."""
    only_ids = Prefetch("knowledge_bases", queryset=KnowledgeBase.objects.only("pk"))
    queryset = Conversation.objects.filter(user=token_user(request)).prefetch_related(only_ids)
    items, count = page_of(queryset, params)
    return ConversationPage(
        items=[conversation_out(c) for c in items],
        count=count,
        limit=params.limit,
        offset=params.offset,
    )


@router.get(
    "/{conversation_id}",
    response={200: ConversationDetail, **READ_ERRORS},
    url_name="conversation",
    summary="One conversation with its messages",
)
def get_conversation(request: HttpRequest, conversation_id: Path[Id]) -> ConversationDetail:
    conversation = own_conversation(request, conversation_id)
    messages = list(conversation.messages.all())
    withhold_unreadable_sources(token_user(request), messages)
    return ConversationDetail(
        **conversation_out(conversation).model_dump(),
        messages=[message_out(m) for m in messages],
    )


@router.delete(
    "/{conversation_id}",
    response={200: Deleted, **WRITE_ERRORS},
    auth=bearer_write,
    summary="Delete a conversation",
)
def delete_conversation(request: HttpRequest, conversation_id: Path[Id]) -> Deleted:
    conversation = own_conversation(request, conversation_id)
    conversation.delete()
    return Deleted(id=conversation_id)
