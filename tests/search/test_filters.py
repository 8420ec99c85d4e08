"""Questions and searches narrowed to documents, file types and dates, in the SQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.chat.models import Message
from apps.knowledge.models import Document, KnowledgeBase
from apps.search.filters import document_filter
from apps.search.retrieval import retrieve

pytestmark = pytest.mark.django_db

QUESTION = "How often are laptops replaced?"


def _doc(world, suffix: str) -> Document:
    return next(d for d in world.documents if d.title.endswith(suffix))


def test_a_document_filter_keeps_only_that_documents_passages(demo_world) -> None:
    travel = _doc(demo_world, "travel-and-expenses.md")
    result = retrieve(
        user=demo_world.user,
        question=QUESTION,
        document_filter=document_filter(document_ids=[travel.pk]),
    )
    assert result.passages and {p.document_id for p in result.passages} == {travel.pk}
    unfiltered = retrieve(user=demo_world.user, question=QUESTION)
    assert "employee-handbook.pdf" in {p.document_title for p in unfiltered.passages}


def test_file_types_and_dates_narrow_in_the_sql(demo_world) -> None:
    pdfs = retrieve(
        user=demo_world.user, question=QUESTION, document_filter=document_filter(file_types=["pdf"])
    )
    assert pdfs.passages and {p.mime_type for p in pdfs.passages} == {"application/pdf"}
    old = _doc(demo_world, "office-guide.txt")
    Document.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))
    recent = document_filter(added_after=date.today() - timedelta(days=30))
    ids = {
        p.document_id
        for p in retrieve(user=demo_world.user, question="office", document_filter=recent).passages
    }
    assert ids and old.pk not in ids
    older = document_filter(added_before=date.today() - timedelta(days=300))
    ids = {
        p.document_id
        for p in retrieve(user=demo_world.user, question="office", document_filter=older).passages
    }
    assert ids == {old.pk}


def test_a_filter_never_reaches_a_document_the_user_cannot_read(demo_world, bob, alice) -> None:
    private = KnowledgeBase.objects.create(name="Private", owner=alice)
    hidden = Document.objects.create(knowledge_base=private, title="secret.txt")
    travel = _doc(demo_world, "travel-and-expenses.md")
    result = retrieve(
        user=bob, question=QUESTION, document_filter=document_filter(document_ids=[hidden.pk])
    )
    assert result.passages == []
    # The demo user asking about the hidden id (and a readable one) gets the readable one only.
    mixed = document_filter(document_ids=[hidden.pk, travel.pk])
    ids = {
        p.document_id
        for p in retrieve(user=demo_world.user, question=QUESTION, document_filter=mixed).passages
    }
    assert ids == {travel.pk}


def test_asking_about_one_document_cites_only_it_and_says_so(client, demo_world) -> None:
    client.force_login(demo_world.user)
    travel = _doc(demo_world, "travel-and-expenses.md")
    page = client.get(reverse("chat:ask"), {"document": travel.pk}).content.decode()
    assert f'<input type="hidden" name="document" value="{travel.pk}">' in page
    assert "Asking about:" in page and "travel-and-expenses.md" in page
    response = client.post(
        reverse("chat:ask"),
        {"question": "What is the hotel cap?", "document": travel.pk},
        follow=True,
    )
    html = response.content.decode()
    answer = Message.objects.filter(role="assistant").latest("pk")
    assert {c["document_id"] for c in answer.citations} <= {travel.pk} and answer.citations
    assert {p["document_id"] for p in answer.retrieved} == {travel.pk}
    assert answer.metadata["filter"]["documents"] == [travel.pk]
    assert answer.metadata["filter"]["document_titles"] == ["travel-and-expenses.md"]
    assert "Asked within travel-and-expenses.md" in html


def test_the_streamed_answer_honours_the_filter(client, demo_world) -> None:
    client.force_login(demo_world.user)
    response = client.post(
        reverse("chat:ask_stream"), {"question": QUESTION, "file_types": ["text"]}
    )
    body = b"".join(response.streaming_content).decode()
    assert "event: done" in body
    answer = Message.objects.filter(role="assistant").latest("pk")
    mimes = set(
        Document.objects.filter(pk__in=[p["document_id"] for p in answer.retrieved]).values_list(
            "mime_type", flat=True
        )
    )
    assert mimes and mimes <= {"text/plain", "text/markdown"}
    assert answer.metadata["filter"]["file_types"] == ["text"]


def test_bad_filters_are_form_errors_not_failures(client, demo_world) -> None:
    client.force_login(demo_world.user)
    for data in (
        {"question": "q?", "added_after": "2026-05-01", "added_before": "2026-01-01"},
        {"question": "q?", "document": "abc"},
        {"question": "q?", "file_types": ["nope"]},
        {"question": "q?", "added_after": "yesterday"},
    ):
        response = client.post(reverse("chat:ask"), data)
        assert response.status_code == 200 and 'class="error"' in response.content.decode()
        stream = client.post(reverse("chat:ask_stream"), data)
        assert stream.status_code == 400
    assert not Message.objects.exists()
    page = client.get(reverse("chat:ask"), {"document": ["x", "9" * 40]})
    assert page.status_code == 200 and "data-chip" not in page.content.decode()


def test_a_filtered_text_search_weighs_words_by_their_rarity_in_the_whole_base(alice) -> None:
    """'alpha' is in every document of the base, 'zephyr' in one passage: within the one
    document asked about, the passage with the rare word ranks first even though the other
    repeats the common word (scoring by the filtered documents' own frequencies did not)."""
    from apps.knowledge.indexing import index_document
    from apps.knowledge.uploads import add_file_document
    from apps.search.sql import hybrid_candidates

    base = KnowledgeBase.objects.create(name="Rarity", owner=alice)
    for n in range(12):
        filler = add_file_document(
            knowledge_base=base, filename=f"filler-{n}.txt",
            data=f"Alpha notes number {n}. Alpha is everywhere in this base.".encode(),
        )  # fmt: skip
        assert index_document(document_id=filler.pk).outcome == "indexed"
    body = (
        "# Common\n\nAlpha alpha alpha, the alpha routine and more alpha again.\n\n"
        + "# Rare\n\nThe zephyr valve sits behind the panel.\n"
    )
    target = add_file_document(knowledge_base=base, filename="target.md", data=body.encode())
    assert index_document(document_id=target.pk).outcome == "indexed"
    chunks = {c.pk: c.text for c in target.chunks.all()}
    assert len(chunks) == 2, chunks
    ranked = hybrid_candidates(
        query_text="alpha zephyr",
        query_vector=[0.0] * 384,
        knowledge_base_ids=[base.pk],
        limit=10,
        mode="text",
        document_filter=document_filter(document_ids=[target.pk]),
    )
    assert [c.chunk_id for c in ranked][:2] and "zephyr" in chunks[ranked[0].chunk_id]
    assert {c.chunk_id for c in ranked} == set(chunks)
