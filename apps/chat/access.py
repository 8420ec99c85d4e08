"""What a user may still see of their own conversations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from apps.chat.models import Message
from apps.knowledge.models import Document, KnowledgeBase

WITHHELD = "This answer is withheld: some of its sources are no longer shared with you."


def document_ids_of(message: Message) -> set[int]:
    items: list[dict[str, Any]] = [*message.citation_list, *(message.retrieved or [])]
    return {int(item["document_id"]) for item in items if item.get("document_id") is not None}


def withhold_unreadable_sources(
    user: AbstractBaseUser | AnonymousUser, messages: Sequence[Message]
) -> None:
    """Answers whose passages the user may no longer read are withheld (in memory only).

    Access applies at once, also to what was answered before: the answer text quotes
    its sources, so it is withheld whole, not only its citations. The objects are
    changed in place and must not be saved. Each message also gets ``no_download``
    (see ``mark_undownloadable``) from the same query.
    """
    used = {message.pk: document_ids_of(message) for message in messages}
    all_ids = set().union(*used.values()) if used else set()
    rows = list(
        Document.objects.filter(
            pk__in=all_ids, knowledge_base__in=KnowledgeBase.objects.readable_by(user)
        ).values_list("pk", "knowledge_base_id", "knowledge_base__readers_may_download")
    )
    readable = {pk for pk, _, _ in rows}
    tainted: set[int] = set()  # conversations with a withheld answer so far
    for message in messages:
        if message.role != Message.Role.ASSISTANT:
            continue
        # A later answer had the withheld one in its history and may repeat it.
        if used[message.pk] - readable or message.conversation_id in tainted:
            tainted.add(message.conversation_id)
            _withhold(message)
    _set_no_download(user, messages, rows)


def _withhold(message: Message) -> None:
    """Nothing of the answer is left: its text, citations, passages, reasoning, reworded
    search and filter all came from (or name) what the reader may not see."""
    message.content = WITHHELD
    message.citations = []
    message.retrieved = []
    message.metadata = {"withheld": True}


def mark_undownloadable(
    user: AbstractBaseUser | AnonymousUser, messages: Sequence[Message]
) -> None:
    """``message.no_download``: the cited documents whose originals ``user`` may not
    download (their base keeps downloads to its editors), so no link offers them."""
    ids = set().union(*(document_ids_of(m) for m in messages)) if messages else set()
    rows = list(
        Document.objects.filter(pk__in=ids).values_list(
            "pk", "knowledge_base_id", "knowledge_base__readers_may_download"
        )
    )
    _set_no_download(user, messages, rows)


def _set_no_download(
    user: AbstractBaseUser | AnonymousUser,
    messages: Sequence[Message],
    rows: list[tuple[int, int, bool]],
) -> None:
    closed = {pk: base for pk, base, open_to_readers in rows if not open_to_readers}
    if closed:
        edited = set(
            KnowledgeBase.objects.editable_by(user)
            .filter(pk__in=set(closed.values()))
            .values_list("pk", flat=True)
        )
        closed = {pk: base for pk, base in closed.items() if base not in edited}
    for message in messages:
        message.no_download = set(closed)  # type: ignore[attr-defined]
