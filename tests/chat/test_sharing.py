"""Read-only conversation links and the Markdown export."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.chat.access import WITHHELD
from apps.chat.models import Conversation, Message
from apps.chat.sharing import WITHHELD_QUESTION
from apps.knowledge.models import Document, KnowledgeBase

pytestmark = pytest.mark.django_db


def _exchange(conversation: Conversation, base: KnowledgeBase, question: str, answer: str) -> None:
    document = Document.objects.create(knowledge_base=base, title=f"{base.name} policy.pdf")
    conversation.knowledge_bases.add(base)
    Message.objects.create(conversation=conversation, role="user", content=question)
    cited = {
        "number": 1, "start": 0, "end": len(answer), "chunk_id": 70 + document.pk,
        "document_id": document.pk, "title": document.title, "page": 2, "url": "",
        "text": answer, "kind": "marker", "section": "Devices",
    }  # fmt: skip
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        content=answer,
        citations=[cited],
        retrieved=[{"chunk_id": cited["chunk_id"], "document_id": document.pk}],
    )


@pytest.fixture
def shared_base(alice: User) -> KnowledgeBase:
    return KnowledgeBase.objects.create(name="Handbook", owner=alice, shared_with_all=True)


@pytest.fixture
def private_base(alice: User) -> KnowledgeBase:
    return KnowledgeBase.objects.create(name="Board minutes", owner=alice)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _shared_path(client: Client, conversation: Conversation) -> str:
    response = client.post(f"/c/{conversation.pk}/share")
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.share_token
    return f"/shared/{conversation.share_token}/"


def test_the_owner_shares_a_read_only_link_that_a_reader_opens(alice, bob, shared_base) -> None:
    conversation = Conversation.objects.create(user=alice, title="Laptop questions")
    _exchange(conversation, shared_base, "How often are laptops replaced?", "Every 36 months.")
    owner = _client(alice)
    path = _shared_path(owner, conversation)
    page = owner.get(f"/c/{conversation.pk}/").content.decode()
    assert f"http://testserver{path}" in page and "Stop sharing" in page

    shared = _client(bob).get(path)
    html = shared.content.decode()
    assert shared.status_code == 200
    assert "Laptop questions" in html and "Every 36 months." in html
    assert "How often are laptops replaced?" in html and "Shared by alice" in html
    assert "Handbook policy.pdf" in html and "Devices · page 2" in html
    assert "data-feedback" not in html and "Rename" not in html and "withheld" not in html


def test_someone_who_may_read_none_of_its_bases_is_refused_without_seeing_it(
    alice, bob, private_base
) -> None:
    conversation = Conversation.objects.create(user=alice, title="Merger plans")
    _exchange(conversation, private_base, "What did the board decide?", "To merge in May.")
    path = _shared_path(_client(alice), conversation)
    for url in (path, f"{path}export.md"):
        response = _client(bob).get(url)
        body = response.content.decode()
        assert response.status_code == 403 and "Not shared with you" in body
        assert "Merger" not in body and "May" not in body and "board decide" not in body


def test_parts_drawing_on_unreadable_bases_are_withheld_question_and_answer(
    alice, bob, shared_base, private_base
) -> None:
    conversation = Conversation.objects.create(user=alice, title="Mixed")
    _exchange(conversation, shared_base, "How often are laptops replaced?", "Every 36 months.")
    _exchange(conversation, private_base, "What did the board decide?", "To merge in May.")
    html = _client(bob).get(_shared_path(_client(alice), conversation)).content.decode()
    assert "Every 36 months." in html and "How often are laptops replaced?" in html
    assert "To merge in May." not in html and "board decide" not in html
    assert "Board minutes policy.pdf" not in html
    assert WITHHELD in html and WITHHELD_QUESTION in html and 'data-withheld-count="1"' in html
    # The owner's own page is untouched: the withholding is in memory only.
    assert "To merge in May." in _client(alice).get(f"/c/{conversation.pk}/").content.decode()


def test_stopping_sharing_ends_the_link_and_sharing_again_makes_a_new_one(
    alice, bob, shared_base
) -> None:
    conversation = Conversation.objects.create(user=alice, title="Laptops")
    _exchange(conversation, shared_base, "How often?", "Every 36 months.")
    owner = _client(alice)
    first = _shared_path(owner, conversation)
    assert _shared_path(owner, conversation) == first  # sharing twice keeps the link
    assert owner.post(f"/c/{conversation.pk}/unshare").status_code == 302
    assert _client(bob).get(first).status_code == 404
    second = _shared_path(owner, conversation)
    assert second != first and _client(bob).get(second).status_code == 200


def test_only_the_owner_shares_and_the_link_needs_a_sign_in(alice, bob, shared_base) -> None:
    conversation = Conversation.objects.create(user=alice, title="Laptops")
    _exchange(conversation, shared_base, "How often?", "Every 36 months.")
    assert _client(bob).post(f"/c/{conversation.pk}/share").status_code == 404
    conversation.refresh_from_db()
    assert conversation.share_token is None
    path = _shared_path(_client(alice), conversation)
    anonymous = Client().get(path)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(
        "/login/?next=/shared/"
    )
    assert _client(alice).get(path)["Location"] == f"/c/{conversation.pk}/"


@pytest.mark.parametrize("token", ["x", "a" * 44, "ünïcode-token-ünïcode-token", "a" * 32])
def test_a_malformed_or_unknown_token_is_not_found(bob, token) -> None:
    assert _client(bob).get(f"/shared/{token}/").status_code == 404


def test_the_markdown_export_numbers_footnotes_across_answers(alice, shared_base) -> None:
    conversation = Conversation.objects.create(user=alice, title="Laptop questions")
    _exchange(conversation, shared_base, "How often?", "Every 36 months.")
    _exchange(conversation, shared_base, "And phones?\nSmartphones too.", "Every 24 months.")
    response = _client(alice).get(f"/c/{conversation.pk}/export.md")
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="laptop-questions.md"'
    text = response.content.decode()
    assert text.startswith("# Laptop questions\n")
    assert "> And phones?\n> Smartphones too." in text
    assert "Every 36 months.[^1]" in text and "Every 24 months.[^2]" in text
    documents = list(Document.objects.order_by("pk"))
    for label, document in enumerate(documents, start=1):
        link = f"http://testserver/documents/{document.pk}/?passage={70 + document.pk}"
        assert f"[^{label}]: **{document.title}** · Devices · page 2 · <{link}" in text


def test_a_shared_export_withholds_what_the_page_withholds(
    alice, bob, shared_base, private_base
) -> None:
    conversation = Conversation.objects.create(user=alice, title="Mixed")
    _exchange(conversation, shared_base, "How often?", "Every 36 months.")
    _exchange(conversation, private_base, "What did the board decide?", "To merge in May.")
    path = _shared_path(_client(alice), conversation)
    text = _client(bob).get(f"{path}export.md").content.decode()
    assert "Every 36 months.[^1]" in text and WITHHELD in text
    assert "May" not in text and "board" not in text.lower().replace("knowledge bases", "")
    assert "[^2]" not in text


def test_a_shared_filter_note_names_no_document_only_how_many(alice, bob, shared_base) -> None:
    conversation = Conversation.objects.create(user=alice, title="Narrowed")
    _exchange(conversation, shared_base, "How often?", "Every 36 months.")
    answer = conversation.messages.get(role="assistant")
    answer.metadata = {"filter": {"documents": [1, 2], "document_titles": ["Secret plan.pdf", "b"]}}
    answer.save()
    owner_page = _client(alice).get(f"/c/{conversation.pk}/").content.decode()
    assert "Asked within Secret plan.pdf, b" in owner_page
    shared = _client(bob).get(_shared_path(_client(alice), conversation)).content.decode()
    assert "Secret plan.pdf" not in shared and "Asked within 2 documents" in shared


def test_answers_after_a_withheld_one_are_withheld_too_and_so_is_the_title(
    alice, bob, shared_base, private_base
) -> None:
    """A follow-up had the withheld answer in its history and may repeat it; the title is
    the first question; the reasoning and the reworded search of a withheld answer go too."""
    conversation = Conversation.objects.create(user=alice, title="What did the board decide?")
    _exchange(conversation, private_base, "What did the board decide?", "To merge in May.")
    _exchange(conversation, shared_base, "Put that in a table", "| merge | May |")
    first = conversation.messages.filter(role="assistant").first()
    first.metadata = {"reasoning": "The minutes say merge in May.", "search_query": "board merger"}
    first.save()
    path = _shared_path(_client(alice), conversation)
    html = _client(bob).get(path).content.decode()
    assert "May" not in html and "merge" not in html.lower() and "board" not in html.lower()
    assert "Shared conversation" in html and 'data-withheld-count="2"' in html
    text = _client(bob).get(f"{path}export.md").content.decode()
    assert text.startswith("# Shared conversation\n") and "May" not in text


def test_the_export_puts_a_footnote_after_a_link_not_inside_its_address(alice, shared_base) -> None:
    conversation = Conversation.objects.create(user=alice, title="Links")
    content = "See [the guide](https://ex.com/guide) for details."
    _exchange(conversation, shared_base, "Where?", content)
    answer = conversation.messages.get(role="assistant")
    answer.citations = [{**answer.citations[0], "end": content.index("guide)") + 2}]
    answer.save()
    text = _client(alice).get(f"/c/{conversation.pk}/export.md").content.decode()
    assert "[the guide](https://ex.com/guide)[^1] for details." in text
