"""The team search page: ranked passages with highlights, filters, and permission scoping."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from apps.knowledge.models import Document, KnowledgeBase
from apps.search.highlight import highlight

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_client(client: Client, demo_world) -> Client:
    client.force_login(demo_world.user)
    return client


def test_search_returns_ranked_passages_with_the_query_words_marked(demo_client) -> None:
    response = demo_client.get(reverse("search:search"), {"q": "laptop replacement"})
    html = response.content.decode()
    assert response.status_code == 200
    assert '<ol class="results">' in html
    assert "<mark>laptop" in html.lower()
    assert "employee-handbook.pdf" in html and "page 2" in html


def test_search_without_javascript_is_a_plain_get_form_with_full_page(demo_client) -> None:
    html = demo_client.get(reverse("search:search"), {"q": "hotel"}).content.decode()
    assert '<form method="get"' in html and 'name="q" value="hotel"' in html
    assert "<html" in html


def test_partial_requests_return_only_the_results_fragment(demo_client) -> None:
    html = demo_client.get(reverse("search:search"), {"q": "hotel", "partial": "1"}).content
    assert b"<html" not in html and b"<mark>" in html


def test_file_type_filter_keeps_only_that_kind_of_document(demo_client, demo_world) -> None:
    response = demo_client.get(reverse("search:search"), {"q": "laptop hotel", "type": "pdf"})
    hits = response.context["hits"]
    assert hits
    assert {hit.passage.mime_type for hit in hits} == {"application/pdf"}


def test_knowledge_base_filter_keeps_only_that_base(demo_client, demo_world, alice) -> None:
    other = KnowledgeBase.objects.create(name="Other", owner=demo_world.user, shared_with_all=True)
    response = demo_client.get(reverse("search:search"), {"q": "hotel", "kb": other.pk})
    assert response.context["hits"] == []
    assert "No passage matches" in response.content.decode()


def test_search_never_shows_passages_from_bases_the_user_cannot_read(
    client, demo_world, bob
) -> None:
    KnowledgeBase.objects.filter(pk=demo_world.knowledge_base.pk).update(shared_with_all=False)
    client.force_login(bob)
    response = client.get(
        reverse("search:search"), {"q": "hotel", "kb": demo_world.knowledge_base.pk}
    )
    assert response.context["hits"] == []
    assert demo_world.knowledge_base.name not in response.content.decode()
    assert Document.objects.filter(knowledge_base=demo_world.knowledge_base).exists()


def test_search_requires_sign_in(client) -> None:
    response = client.get(reverse("search:search"), {"q": "hotel"})
    assert response.status_code == 302 and "/login" in response["Location"]


def test_highlighting_escapes_the_text_and_never_matches_inside_entities() -> None:
    html = str(highlight('<script>alert("amp")</script> & amplifier', "amp lt script"))
    assert "<script>" not in html
    assert "&lt;<mark>script</mark>&gt;" in html
    assert "&amp; <mark>amplifier</mark>" in html
    assert "&<mark>" not in html


def test_weak_matches_are_hidden_behind_a_show_all_link(demo_client) -> None:
    response = demo_client.get(reverse("search:search"), {"q": "laptop replaced"})
    shown = response.context["hits"]
    assert response.context["hidden"] > 0
    assert "Show all results" in response.content.decode()
    everything = demo_client.get(reverse("search:search"), {"q": "laptop replaced", "all": "1"})
    assert len(everything.context["hits"]) == len(shown) + response.context["hidden"]


def test_snippets_drop_markdown_heading_and_bold_marks() -> None:
    html = str(highlight("## Severity levels\n- **Severity 1**: the product is down", "severity"))
    assert "##" not in html and "**" not in html
    assert html.startswith("<mark>Severity</mark> levels")
