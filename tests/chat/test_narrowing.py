"""Picking documents by title, follow-ups asked within the same filter, and no download links
where downloads are closed."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from apps.chat.answering import ask
from apps.chat.models import Conversation, Message
from apps.knowledge.models import Document, KnowledgeBase
from apps.search.filters import document_filter

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _titles(client: Client, q: str) -> list[str]:
    response = client.get("/search/documents.json", {"q": q})
    assert response.status_code == 200
    return [d["title"] for d in response.json()["documents"]]


def test_the_picker_suggests_readable_ready_documents_matching_every_word(
    alice, bob, knowledge_base
) -> None:
    shared = KnowledgeBase.objects.create(name="Shared", owner=alice, shared_with_all=True)
    for title, status in [
        ("Travel policy 2026.pdf", "ready"),
        ("Travel booking guide.md", "ready"),
        ("Travel policy draft.docx", "failed"),
    ]:
        Document.objects.create(knowledge_base=shared, title=title, status=status)
    Document.objects.create(
        knowledge_base=knowledge_base, title="Travel policy secret.pdf", status="ready"
    )
    reader = _client(bob)
    assert _titles(reader, "travel") == ["Travel policy 2026.pdf", "Travel booking guide.md"]
    assert _titles(reader, "POLICY travel") == ["Travel policy 2026.pdf"]
    assert _titles(_client(alice), "policy") == [
        "Travel policy 2026.pdf",
        "Travel policy secret.pdf",
    ]
    for junk in ["", "   ", "\x00", "%", "x" * 5000, "'; drop table x; --"]:
        assert _titles(reader, junk) == []
    assert Client().get("/search/documents.json", {"q": "travel"}).status_code == 302


def test_a_follow_up_is_asked_within_the_last_questions_filter_until_cleared(demo_world) -> None:
    travel = next(d for d in demo_world.documents if d.title.endswith("travel-and-expenses.md"))
    narrowed = document_filter(document_ids=[travel.pk], file_types=["text"])
    outcome = ask(
        user=demo_world.user,
        question="What may I spend on hotels?",
        knowledge_base_ids=[demo_world.knowledge_base.pk],
        document_filter=narrowed,
    )
    client = _client(demo_world.user)
    url = f"/c/{outcome.conversation.pk}/"
    html = client.get(url).content.decode()
    form = html.split("data-ask-form", 1)[1]
    assert f'name="document" value="{travel.pk}"' in form
    text_box = form.split('value="text"', 1)[1].split(">", 1)[0]
    assert "checked" in text_box
    client.post(url, {"question": "And meals?", "document": [travel.pk], "file_types": ["text"]})
    follow_up = Message.objects.filter(conversation=outcome.conversation, role="assistant").last()
    assert follow_up is not None and follow_up.metadata["filter"]["documents"] == [travel.pk]
    assert {p["document_id"] for p in follow_up.retrieved} == {travel.pk}
    cleared = client.get(url, {"narrow": "none"}).content.decode().split("data-ask-form", 1)[1]
    assert 'name="document"' not in cleared.split("data-narrowed", 1)[1].split("</p>", 1)[0]


def _file_cited_conversation(user: User, document: Document) -> Conversation:
    conversation = Conversation.objects.create(user=user, title="Files")
    Message.objects.create(conversation=conversation, role="user", content="Where?")
    cited = {"number": 1, "start": 0, "end": 5, "chunk_id": 1, "document_id": document.pk,
             "title": document.title, "page": 2, "url": "", "text": "Here.", "kind": "file_citation"}  # fmt: skip
    Message.objects.create(
        conversation=conversation, role="assistant", content="Here.", citations=[cited]
    )
    return conversation


def test_readers_see_no_download_links_where_downloads_are_closed_editors_do(
    alice, bob, charlie, knowledge_base
) -> None:
    knowledge_base.shared_with_all = True
    knowledge_base.readers_may_download = False
    knowledge_base.save()
    editors = Group.objects.create(name="editors")
    charlie.groups.add(editors)
    knowledge_base.editor_groups.add(editors)
    document = Document.objects.create(knowledge_base=knowledge_base, title="handbook.pdf")
    file_url = f"/documents/{document.pk}/file"
    reader_page = (
        _client(bob).get(f"/c/{_file_cited_conversation(bob, document).pk}/").content.decode()
    )
    assert "handbook.pdf" in reader_page and file_url not in reader_page
    editor_page = _client(charlie).get(f"/c/{_file_cited_conversation(charlie, document).pk}/")
    assert file_url in editor_page.content.decode()
    knowledge_base.readers_may_download = True
    knowledge_base.save()
    assert (
        file_url
        in _client(bob).get(f"/c/{_file_cited_conversation(bob, document).pk}/").content.decode()
    )


def test_the_exact_title_comes_first_even_among_many_longer_matches(alice) -> None:
    base = KnowledgeBase.objects.create(name="Plans", owner=alice)
    for n in range(60):
        Document.objects.create(knowledge_base=base, title=f"A plan number {n:02}", status="ready")
    Document.objects.create(knowledge_base=base, title="Plan", status="ready")
    titles = _titles(_client(alice), "plan")
    assert titles[0] == "Plan" and len(titles) == 10
