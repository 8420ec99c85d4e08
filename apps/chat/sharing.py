"""Read-only links to a conversation, opened by signed-in colleagues.

A link opens for a user who may read at least one knowledge base the conversation
drew on; what draws on bases they may not read is withheld, answer and question,
exactly as the owner's own page withholds answers after access is revoked.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from apps.chat.access import document_ids_of, withhold_unreadable_sources
from apps.chat.models import Conversation, Message
from apps.knowledge.models import Document, KnowledgeBase

WITHHELD_QUESTION = "This question is withheld with its answer."
NEUTRAL_TITLE = "Shared conversation"
TOKEN_BYTES = 24  # 32 URL-safe characters


def start_sharing(conversation: Conversation) -> str:
    """The conversation's share token, made on first use; sharing again keeps the link."""
    if not conversation.share_token:
        conversation.share_token = secrets.token_urlsafe(TOKEN_BYTES)
        conversation.shared_at = timezone.now()
        conversation.save(update_fields=["share_token", "shared_at"])
    return conversation.share_token


def stop_sharing(conversation: Conversation) -> None:
    """The link stops working at once; sharing again makes a new one."""
    conversation.share_token = None
    conversation.shared_at = None
    conversation.save(update_fields=["share_token", "shared_at"])


def is_share_token(token: str) -> bool:
    """Only what ``start_sharing`` can make reaches the database."""
    return (
        20 <= len(token) <= 43 and token.isascii() and all(c.isalnum() or c in "-_" for c in token)
    )


def _drawn_on_base_ids(conversation: Conversation, messages: list[Message]) -> set[int]:
    """The bases asked plus the bases of every passage cited or retrieved."""
    document_ids = set().union(*(document_ids_of(m) for m in messages)) if messages else set()
    cited = Document.objects.filter(pk__in=document_ids).values_list("knowledge_base_id", flat=True)
    asked = set(conversation.knowledge_bases.values_list("pk", flat=True))
    for message in messages:
        asked.update(message.knowledge_base_ids or [])
    return set(cited) | asked


@dataclass(frozen=True)
class SharedConversation:
    conversation: Conversation
    messages: list[Message]
    withheld: int  # answers withheld from this viewer

    @property
    def title(self) -> str:
        """The conversation's title is its first question: withheld with it."""
        first = next((m for m in self.messages if m.role == Message.Role.USER), None)
        if first is not None and first.content == WITHHELD_QUESTION:
            return NEUTRAL_TITLE
        return self.conversation.title


def open_shared(
    user: AbstractBaseUser | AnonymousUser, conversation: Conversation
) -> SharedConversation | None:
    """The conversation as ``user`` may see it, or None when they may read none of its bases."""
    messages = list(conversation.messages.all())
    drawn_on = _drawn_on_base_ids(conversation, messages)
    if drawn_on and not KnowledgeBase.objects.readable_by(user).filter(pk__in=drawn_on).exists():
        return None
    withhold_unreadable_sources(user, messages)
    withhold_questions_of_withheld_answers(messages)
    for message in messages:  # the owner's filter may name documents the viewer may not read
        narrowed = (message.metadata or {}).get("filter")
        if isinstance(narrowed, dict) and narrowed.get("document_titles"):
            message.metadata = {**message.metadata, "filter": {**narrowed, "document_titles": []}}
    withheld = sum(1 for m in messages if (m.metadata or {}).get("withheld"))
    return SharedConversation(conversation=conversation, messages=messages, withheld=withheld)


def withhold_questions_of_withheld_answers(messages: list[Message]) -> None:
    """A question is withheld with its answer: it may repeat what the answer said before.

    In memory only, like ``withhold_unreadable_sources``.
    """
    for question, answer in zip(messages, messages[1:], strict=False):
        if question.role == Message.Role.USER and (answer.metadata or {}).get("withheld"):
            question.content = WITHHELD_QUESTION
