"""The ask and conversation pages through Django's test client on the real database."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from apps.chat.models import Conversation, Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_client(client: Client, demo_world) -> Client:
    client.force_login(demo_world.user)
    return client


def test_asking_redirects_to_a_conversation_showing_markers_and_sources(
    demo_client, demo_world
) -> None:
    response = demo_client.post(
        reverse("chat:ask"),
        {
            "question": "How often are laptops replaced?",
            "knowledge_base": demo_world.knowledge_base.pk,
        },
        follow=True,
    )
    html = response.content.decode()
    assert response.redirect_chain[-1][0].startswith("/c/")
    assert 'class="cite-marker"' in html and "36 months" in html
    assert re.search(
        r'employee-handbook\.pdf</a> <span class="source-where">[^<]*page 2</span>', html
    )


def test_conversations_of_other_users_are_not_found(client, demo_world, bob) -> None:
    conversation = Conversation.objects.create(user=demo_world.user, title="private")
    Message.objects.create(conversation=conversation, role="user", content="secret question")
    client.force_login(bob)
    response = client.get(reverse("chat:conversation", args=[conversation.pk]))
    assert response.status_code == 404
    assert b"secret question" not in response.content


def test_documents_of_unreadable_bases_are_not_found(client, demo_world, bob) -> None:
    document = demo_world.documents[0]
    demo_world.knowledge_base.shared_with_all = False
    demo_world.knowledge_base.save()
    client.force_login(bob)
    assert client.get(reverse("knowledge:document", args=[document.pk])).status_code == 404
    assert client.get(reverse("knowledge:document_file", args=[document.pk])).status_code == 404


def test_uploaded_html_is_downloaded_never_rendered_in_our_origin(demo_client, demo_world) -> None:
    document = next(d for d in demo_world.documents if d.title.endswith(".html"))
    response = demo_client.get(reverse("knowledge:document_file", args=[document.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["Content-Security-Policy"] == "sandbox"


def test_model_server_down_shows_a_clear_message_and_keeps_the_question(
    demo_client, demo_world, settings
) -> None:
    settings.CHAT_BASE_URL = "http://127.0.0.1:9/v1"
    settings.MODEL_API_MAX_RETRIES = 0
    response = demo_client.post(reverse("chat:ask"), {"question": "Hotel cap in Europe?"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "The model server could not be reached" in html
    assert "Hotel cap in Europe?" in html
    assert not Conversation.objects.exists()


def test_answers_without_citations_say_no_sources_were_cited(demo_client, demo_world) -> None:
    conversation = Conversation.objects.create(user=demo_world.user, title="t")
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        content="An answer with no citations.",
        retrieved=[{"chunk_id": 1}],
    )
    response = demo_client.get(reverse("chat:conversation", args=[conversation.pk]))
    assert b"No sources cited." in response.content


def test_losing_access_withholds_earlier_answers_that_quoted_the_sources(
    client, demo_world, bob
) -> None:
    from apps.chat.answering import ask

    outcome = ask(
        user=bob,
        question="How often are laptops replaced?",
        knowledge_base_ids=[demo_world.knowledge_base.pk],
    )
    url = reverse("chat:conversation", args=[outcome.conversation.pk])
    client.force_login(bob)
    assert b"36 months" in client.get(url).content
    demo_world.knowledge_base.shared_with_all = False
    demo_world.knowledge_base.save()
    html = client.get(url).content.decode()
    assert "36 months" not in html and "no longer shared with you" in html


@pytest.mark.parametrize("name", ["login", "chat:ask", "knowledge:list"])
def test_every_page_sends_a_strict_content_security_policy(demo_client, name) -> None:
    policy = demo_client.get(reverse(name))["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["img-src"] == "'self'"
    assert directives["script-src"] == "'self'" and "unsafe-inline" not in policy
    assert directives["frame-ancestors"] == "'none'"


def test_the_pdf_text_view_labels_each_page_and_links_it_to_the_page_view(
    demo_client, demo_world
) -> None:
    pdf = next(d for d in demo_world.documents if d.title.endswith(".pdf"))
    url = reverse("knowledge:document", args=[pdf.pk])
    html = demo_client.get(url, {"view": "text"}).content.decode()
    assert '<section class="doc-page" id="page-2" data-page="2">' in html
    assert 'Page 2 · <a href="?page=2">page image</a>' in html


def _cited(document, number: int, kind: str, url: str = "") -> dict:
    chunk = document.chunks.first()
    return {
        "number": number,
        "start": 0,
        "end": 10,
        "chunk_id": chunk.pk,
        "document_id": document.pk,
        "title": document.title,
        "page": None,
        "url": url,
        "text": chunk.text,
        "kind": kind,
    }


def test_file_and_url_citations_link_to_the_uploaded_file_and_the_source_page(
    demo_client, demo_world
) -> None:
    text, markdown, office = (
        next(d for d in demo_world.documents if d.title.endswith(suffix))
        for suffix in (".txt", ".md", ".html")
    )
    conversation = Conversation.objects.create(user=demo_world.user, title="t")
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        content="An answer citing three sources.",
        citations=[
            _cited(text, 1, "file_citation"),
            _cited(markdown, 2, "url_citation", url="https://docs.example.org/travel"),
            _cited(office, 3, "document_citation", url="https://docs.example.org/faq"),
        ],
    )
    html = demo_client.get(reverse("chat:conversation", args=[conversation.pk])).content.decode()
    file_url = reverse("knowledge:document_file", args=[text.pk])
    assert f'<a class="source-file" href="{file_url}">uploaded file</a>' in html
    assert f'href="{reverse("knowledge:document", args=[text.pk])}?passage=' in html
    assert 'class="source-url" href="https://docs.example.org/travel"' in html
    assert html.count('class="source-file"') == 1 and html.count('class="source-url"') == 1
