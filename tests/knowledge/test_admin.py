"""Staff upload through the Django admin; the database worker indexes the document."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from apps.knowledge.indexing import index_document
from apps.knowledge.models import Chunk, ChunkLexemes, Document, KnowledgeBase

DEMO = Path(__file__).resolve().parents[2] / "demo" / "documents"

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, alice):
    alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    return client


def _upload(admin_client, knowledge_base, name: str, data: bytes):
    return admin_client.post(
        reverse("admin:knowledge_document_add"),
        {
            "knowledge_base": knowledge_base.pk,
            "title": "",
            "source_kind": "file",
            "file": SimpleUploadedFile(name, data),
            "text": "",
            "source_url": "",
        },
    )


@pytest.mark.django_db(transaction=True)
def test_saving_an_upload_queues_a_task_that_the_db_worker_indexes(
    admin_client, knowledge_base
) -> None:
    response = _upload(
        admin_client, knowledge_base, "handbook.pdf", (DEMO / "employee-handbook.pdf").read_bytes()
    )
    assert response.status_code == 302
    document = Document.objects.get()
    assert (document.title, document.status, document.mime_type) == (
        "handbook.pdf",
        Document.Status.QUEUED,
        "application/pdf",
    )
    assert DBTaskResult.objects.count() == 1

    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)

    document.refresh_from_db()
    assert document.status == Document.Status.READY and document.chunk_count > 0
    changelist = admin_client.get(reverse("admin:knowledge_document_changelist")).content.decode()
    assert "handbook.pdf" in changelist and "Ready" in changelist


def test_admin_refuses_unsupported_uploads_with_a_readable_error(
    admin_client, knowledge_base
) -> None:
    response = _upload(admin_client, knowledge_base, "slides.md", b"GIF89a" + b"\x00" * 30)
    assert response.status_code == 200
    assert "Unsupported file type: the content is a GIF image" in response.content.decode()
    assert not Document.objects.exists()


def _edit(admin_client, document: Document, **changes):
    data = {
        "knowledge_base": document.knowledge_base_id,
        "title": document.title,
        "source_kind": document.source_kind,
        "text": document.text,
        "source_url": document.source_url,
        **changes,
    }
    return admin_client.post(reverse("admin:knowledge_document_change", args=[document.pk]), data)


def _indexed_text_document(knowledge_base) -> Document:
    document = Document.objects.create(
        knowledge_base=knowledge_base,
        title="Travel rules",
        source_kind=Document.SourceKind.TEXT,
        text="Book every flight through the portal.",
        mime_type="text/plain",
    )
    index_document(document_id=document.pk)
    return document


def test_a_document_cannot_be_moved_to_another_base_leaving_its_passages_behind(
    admin_client, knowledge_base, alice
) -> None:
    """Its chunks carry the base id that retrieval filters on: a move would leave them readable
    by the old base's readers. Moving is refused; upload to the other base instead."""
    document = _indexed_text_document(knowledge_base)
    restricted = KnowledgeBase.objects.create(name="Restricted", owner=alice)
    response = _edit(admin_client, document, knowledge_base=restricted.pk)
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.knowledge_base_id == knowledge_base.pk
    assert set(Chunk.objects.values_list("knowledge_base_id", flat=True)) == {knowledge_base.pk}
    assert set(ChunkLexemes.objects.values_list("knowledge_base_id", flat=True)) == {
        knowledge_base.pk
    }


def test_renaming_a_document_reindexes_it_so_its_new_title_is_searchable(
    admin_client, knowledge_base, django_capture_on_commit_callbacks
) -> None:
    document = _indexed_text_document(knowledge_base)
    tasks_before = DBTaskResult.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = _edit(admin_client, document, title="Zanzibar travel rules")
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.status == Document.Status.QUEUED
    assert DBTaskResult.objects.count() == tasks_before + 1
    assert index_document(document_id=document.pk).outcome == "indexed"
    lexemes = ChunkLexemes.objects.filter(chunk__document=document).values_list(
        "search_vector", flat=True
    )
    assert all("zanzibar" in str(vector) for vector in lexemes)


def test_editing_a_document_in_the_admin_gives_it_a_fresh_set_of_attempts(
    admin_client, knowledge_base, settings, django_capture_on_commit_callbacks
) -> None:
    """A document that used up its attempts and is edited (re-queued) from the admin must get
    the same fresh start as a re-index from the page: a passing model-server failure on its
    first try schedules a retry instead of failing it at once."""
    document = _indexed_text_document(knowledge_base)
    settings.INGEST_MAX_ATTEMPTS = 2
    Document.objects.filter(pk=document.pk).update(
        status=Document.Status.FAILED, attempts=2, error="Embedding failed: server down"
    )
    document.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        response = _edit(admin_client, document, text="Book every train through the portal.")
    assert response.status_code == 302
    document.refresh_from_db()
    assert (document.status, document.attempts, document.error) == (Document.Status.QUEUED, 0, "")

    settings.EMBEDDINGS_BASE_URL = "http://127.0.0.1:9/v1"
    settings.MODEL_API_MAX_RETRIES = 0
    assert index_document(document_id=document.pk).outcome == "retry_scheduled"
    document.refresh_from_db()
    assert document.status == Document.Status.QUEUED
    assert document.error.startswith("Will retry in")


def test_a_url_document_added_in_the_admin_is_queued_for_fetching(
    admin_client, knowledge_base, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:knowledge_document_add"),
            {
                "knowledge_base": knowledge_base.pk,
                "title": "",
                "source_kind": "url",
                "text": "",
                "source_url": "https://docs.example.com/handbook",
            },
        )
    assert response.status_code == 302
    document = Document.objects.get()
    assert (document.source_kind, document.title, document.status) == (
        Document.SourceKind.URL,
        "https://docs.example.com/handbook",
        Document.Status.QUEUED,
    )
    assert DBTaskResult.objects.filter(args_kwargs__args=[document.pk]).exists()


def test_the_admin_refuses_a_url_that_is_not_http(admin_client, knowledge_base) -> None:
    response = admin_client.post(
        reverse("admin:knowledge_document_add"),
        {
            "knowledge_base": knowledge_base.pk,
            "title": "",
            "source_kind": "url",
            "text": "",
            "source_url": "ftp://files.example.com/handbook.pdf",
        },
    )
    assert response.status_code == 200
    assert not Document.objects.exists()
    assert "Only http and https URLs can be added" in response.content.decode()
