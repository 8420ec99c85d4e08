"""Documents by title, for the ask form's document picker: readable ones only, in SQL."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models.functions import Length

from apps.knowledge.cleaning import clean_text
from apps.knowledge.models import Document, KnowledgeBase

MAX_SUGGESTIONS = 10
MAX_QUERY_CHARS = 200


def documents_titled(user: AbstractBaseUser | AnonymousUser, query: str) -> list[dict[str, Any]]:
    """Up to ``MAX_SUGGESTIONS`` ready, readable top-level documents whose title contains
    every word of ``query`` (case-insensitive), shortest titles first."""
    words = clean_text(query)[:MAX_QUERY_CHARS].split()[:8]
    if not words:
        return []
    documents = Document.objects.without_content().filter(
        knowledge_base__in=KnowledgeBase.objects.readable_by(user),
        status=Document.Status.READY,
        parent__isnull=True,
    )
    for word in words:
        documents = documents.filter(title__icontains=word)
    rows = documents.values("pk", "title", "knowledge_base__name").order_by(
        Length("title"), "title", "pk"
    )
    return [
        {"id": r["pk"], "title": r["title"], "knowledge_base": r["knowledge_base__name"]}
        for r in rows[:MAX_SUGGESTIONS]
    ]
