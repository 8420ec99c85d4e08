"""/api/v1/conversations: the token user's own conversations only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from apps.chat.access import WITHHELD
from apps.chat.models import Conversation, Message
from apps.knowledge.models import Document, KnowledgeBase

pytestmark = pytest.mark.django_db


def _conversation(user: User, base: KnowledgeBase, title: str = "Laptops") -> Conversation:
    document = Document.objects.create(knowledge_base=base, title="policy.pdf")
    conversation = Conversation.objects.create(user=user, title=title)
    conversation.knowledge_bases.add(base)
    Message.objects.create(conversation=conversation, role="user", content="How often?")
    cited = {
        "number": 1, "start": 0, "end": 9, "chunk_id": 7, "document_id": document.pk,
        "title": "policy.pdf", "page": 2, "url": "", "text": "Every 36 months.", "kind": "marker",
    }  # fmt: skip
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        content="36 months.",
        citations=[cited],
        retrieved=[{"chunk_id": 7, "document_id": document.pk}],
    )
    return conversation


def test_the_list_is_paged_and_holds_only_the_users_own(alice, bob, knowledge_base, api_as) -> None:
    for n in range(3):
        _conversation(alice, knowledge_base, f"Mine {n}")
    _conversation(bob, knowledge_base, "Bob's")
    api = api_as(alice)
    page = api.get("/api/v1/conversations", {"limit": 2}).json()
    assert page["count"] == 3 and page["limit"] == 2 and len(page["items"]) == 2
    assert [c["title"] for c in page["items"]] == ["Mine 2", "Mine 1"]
    assert page["items"][0]["knowledge_bases"] == [knowledge_base.pk]
    rest = api.get("/api/v1/conversations", {"limit": 2, "offset": 2}).json()
    assert [c["title"] for c in rest["items"]] == ["Mine 0"]


def test_a_conversation_comes_with_its_messages_and_citations(
    alice, knowledge_base, api_as
) -> None:
    conversation = _conversation(alice, knowledge_base)
    body = api_as(alice).get(f"/api/v1/conversations/{conversation.pk}").json()
    assert [m["role"] for m in body["messages"]] == ["user", "assistant"]
    answer = body["messages"][1]
    assert answer["text"] == "36 months." and not answer["withheld"]
    assert answer["citations"][0]["page"] == 2 and answer["sources"][0]["title"] == "policy.pdf"


def test_an_answer_whose_sources_are_no_longer_readable_is_withheld(
    alice, bob, knowledge_base, api_as
) -> None:
    knowledge_base.shared_with_all = True
    knowledge_base.save()
    conversation = _conversation(bob, knowledge_base)
    knowledge_base.shared_with_all = False
    knowledge_base.save()
    answer = api_as(bob).get(f"/api/v1/conversations/{conversation.pk}").json()["messages"][1]
    assert answer["withheld"] and answer["text"] == WITHHELD and answer["citations"] == []


def test_another_users_conversation_is_not_found_and_survives_delete(
    alice, bob, knowledge_base, api_as
) -> None:
    conversation = _conversation(alice, knowledge_base)
    api = api_as(bob)
    assert api.get(f"/api/v1/conversations/{conversation.pk}").status_code == 404
    assert api.delete(f"/api/v1/conversations/{conversation.pk}").status_code == 404
    assert Conversation.objects.filter(pk=conversation.pk).exists()


def test_deleting_a_conversation_removes_it(alice, knowledge_base, api_as) -> None:
    conversation = _conversation(alice, knowledge_base)
    response = api_as(alice).delete(f"/api/v1/conversations/{conversation.pk}")
    assert response.status_code == 200 and response.json() == {
        "deleted": True,
        "id": conversation.pk,
    }
    assert not Conversation.objects.exists() and not Message.objects.exists()


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "101"}, {"offset": "-1"}])
def test_paging_is_bounded(alice, api_as, params) -> None:
    response = api_as(alice).get("/api/v1/conversations", params)
    assert response.status_code == 400
