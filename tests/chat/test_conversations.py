"""Conversations are renamed and deleted by their owner; answers take feedback."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.chat.models import Conversation, Feedback, Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def exchange(alice):
    conversation = Conversation.objects.create(user=alice, title="Hotels")
    Message.objects.create(conversation=conversation, role="user", content="Hotel cap?")
    answer = Message.objects.create(conversation=conversation, role="assistant", content="180.")
    return conversation, answer


def test_the_owner_renames_a_conversation(client, alice, exchange) -> None:
    conversation, _ = exchange
    client.force_login(alice)
    client.post(reverse("chat:conversation_rename", args=[conversation.pk]), {"title": " Trips "})
    conversation.refresh_from_db()
    assert conversation.title == "Trips"


def test_a_blank_title_is_refused_with_a_message(client, alice, exchange) -> None:
    conversation, _ = exchange
    client.force_login(alice)
    response = client.post(
        reverse("chat:conversation_rename", args=[conversation.pk]), {"title": "  "}, follow=True
    )
    conversation.refresh_from_db()
    assert conversation.title == "Hotels"
    assert "Please type a title." in response.content.decode()


def test_the_owner_deletes_a_conversation_with_its_messages(client, alice, exchange) -> None:
    conversation, _ = exchange
    client.force_login(alice)
    response = client.post(reverse("chat:conversation_delete", args=[conversation.pk]))
    assert response.status_code == 302
    assert not Conversation.objects.exists() and not Message.objects.exists()


def test_others_can_neither_rename_nor_delete_nor_rate(client, bob, exchange) -> None:
    conversation, answer = exchange
    client.force_login(bob)
    urls = [
        reverse("chat:conversation_rename", args=[conversation.pk]),
        reverse("chat:conversation_delete", args=[conversation.pk]),
        reverse("chat:feedback", args=[answer.pk]),
    ]
    for url in urls:
        assert client.post(url, {"title": "mine", "rating": "1"}).status_code == 404
    assert Conversation.objects.get().title == "Hotels"
    assert not Feedback.objects.exists()


def test_feedback_is_stored_once_per_answer_and_can_be_changed(client, alice, exchange) -> None:
    _, answer = exchange
    client.force_login(alice)
    url = reverse("chat:feedback", args=[answer.pk])
    client.post(url, {"rating": "1"}, HTTP_ACCEPT="application/json")
    reply = client.post(
        url, {"rating": "-1", "comment": "Too short"}, HTTP_ACCEPT="application/json"
    )
    assert reply.json() == {"saved": True, "rating": -1}
    feedback = Feedback.objects.get()
    assert (feedback.rating, feedback.comment, feedback.user) == (-1, "Too short", alice)


def test_feedback_shows_on_the_answer_and_is_listed_for_staff(client, alice, exchange) -> None:
    conversation, answer = exchange
    Feedback.objects.create(message=answer, user=alice, rating=-1, comment="Outdated figure")
    client.force_login(alice)
    page = client.get(reverse("chat:conversation", args=[conversation.pk])).content.decode()
    assert 'value="Outdated figure"' in page
    assert 'aria-label="Not helpful" aria-pressed="true"><svg class="icon icon-thumbs-down"' in page
    alice.is_superuser = True
    alice.save()
    listing = client.get(reverse("admin:chat_feedback_changelist")).content.decode()
    assert "Outdated figure" in listing and "Hotel cap?" in listing


def test_user_questions_cannot_be_rated(client, alice, exchange) -> None:
    conversation, _ = exchange
    question = conversation.messages.get(role="user")
    client.force_login(alice)
    assert (
        client.post(reverse("chat:feedback", args=[question.pk]), {"rating": "1"}).status_code
        == 404
    )
