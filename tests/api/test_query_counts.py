"""The API's list and detail routes make a fixed number of queries, however many rows they
return: no query per item (each count is measured with few rows and with many)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.chat.models import Conversation, Message
from apps.knowledge.models import Document, KnowledgeBase

pytestmark = pytest.mark.django_db


def _fill(user: User, count: int, start: int = 0) -> dict[str, int]:
    """``count`` bases, each with a document, and ``count`` conversations citing them."""
    first_base = first_conversation = 0
    for n in range(start, start + count):
        base = KnowledgeBase.objects.create(name=f"Base {n}", owner=user)
        Document.objects.create(knowledge_base=base, title=f"doc-{n}.txt")
        conversation = Conversation.objects.create(user=user, title=f"Talk {n}")
        conversation.knowledge_bases.add(base)
        for role in ("user", "assistant"):
            Message.objects.create(conversation=conversation, role=role, content=f"{role} {n}")
        first_base = first_base or base.pk
        first_conversation = first_conversation or conversation.pk
    return {"base": first_base, "conversation": first_conversation}


ROUTES: dict[str, tuple[Callable[[dict[str, int]], str], int]] = {
    # route → (its URL, the queries it makes: token lookup + last-used write + its own)
    "knowledge bases": (lambda ids: "/api/v1/knowledge-bases", 5),
    "documents": (lambda ids: f"/api/v1/knowledge-bases/{ids['base']}/documents", 5),
    "conversations": (lambda ids: "/api/v1/conversations", 5),
    "conversation": (lambda ids: f"/api/v1/conversations/{ids['conversation']}", 5),
    "models": (lambda ids: "/api/v1/openai/models", 3),
}


def _queries(api: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(url)
    assert response.status_code == 200, response.content
    return len(captured)


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_a_route_makes_the_same_queries_for_two_rows_and_for_twelve(alice, api_as, route) -> None:
    url, expected = ROUTES[route]
    api = api_as(alice)
    few = _queries(api, url(_fill(alice, 2)))
    api = api_as(alice)  # a fresh token: its first use is written again
    _fill(alice, 10, start=2)
    many = _queries(api, url(_first_ids(alice)))
    assert few == many == expected


def _first_ids(user: User) -> dict[str, int]:
    bases = KnowledgeBase.objects.filter(owner=user).order_by("pk")
    conversations = Conversation.objects.filter(user=user).order_by("pk")
    return {"base": bases[0].pk, "conversation": conversations[0].pk}
