"""Ingestion on the real database through the real local provider over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.knowledge import embedding, queue
from apps.knowledge.indexing import index_document
from apps.knowledge.models import Chunk, Document, KnowledgeBase
from apps.knowledge.uploads import UploadRejected, add_file_document

DEMO = Path(__file__).resolve().parents[2] / "demo" / "documents"

pytestmark = pytest.mark.django_db


def _add(kb: KnowledgeBase, name: str, data: bytes | None = None) -> Document:
    return add_file_document(
        knowledge_base=kb,
        filename=name,
        data=data if data is not None else (DEMO / name).read_bytes(),
    )


def test_pdf_and_markdown_become_chunks_with_384d_vectors_and_pages(knowledge_base) -> None:
    pdf = _add(knowledge_base, "employee-handbook.pdf")
    markdown = _add(knowledge_base, "travel-and-expenses.md")
    assert index_document(document_id=pdf.pk).outcome == "indexed"
    assert index_document(document_id=markdown.pk).outcome == "indexed"

    pdf.refresh_from_db()
    assert pdf.status == Document.Status.READY and pdf.chunk_count == pdf.chunks.count() > 0
    pdf_chunks = list(pdf.chunks.all())
    assert {c.page for c in pdf_chunks} == {1, 2, 3}
    assert all(len(c.embedding) == 384 for c in pdf_chunks)
    laptop = next(c for c in pdf_chunks if "36 months" in c.text)
    assert laptop.page == 2

    md_chunks = list(markdown.chunks.all())
    assert md_chunks and all(c.page is None and len(c.embedding) == 384 for c in md_chunks)
    assert any(c.heading == "Hotels" for c in md_chunks)
    knowledge_base.refresh_from_db()
    assert (knowledge_base.embedding_model, knowledge_base.embedding_dimensions) == (
        "all-MiniLM-L6-v2",
        384,
    )


def test_reingesting_the_same_file_neither_duplicates_chunks_nor_embeds_again(
    knowledge_base, monkeypatch
) -> None:
    document = _add(knowledge_base, "travel-and-expenses.md")
    index_document(document_id=document.pk)
    before = list(Chunk.objects.filter(document=document).values_list("pk", "text"))

    def no_embedding_call(*args, **kwargs):
        raise AssertionError("unchanged content must not be embedded again")

    monkeypatch.setattr(embedding, "create_embeddings", no_embedding_call)
    assert index_document(document_id=document.pk).outcome == "unchanged"
    assert list(Chunk.objects.filter(document=document).values_list("pk", "text")) == before
    assert _add(knowledge_base, "travel-and-expenses.md").pk == document.pk


def test_forced_reindex_replaces_chunks_without_duplicates(knowledge_base) -> None:
    document = _add(knowledge_base, "incident-response-runbook.md")
    index_document(document_id=document.pk)
    count = Chunk.objects.filter(document=document).count()
    Document.objects.filter(pk=document.pk).update(indexed_sha256="")
    assert index_document(document_id=document.pk).outcome == "indexed"
    assert Chunk.objects.filter(document=document).count() == count
    assert sorted(
        Chunk.objects.filter(document=document).values_list("ordinal", flat=True)
    ) == list(range(count))


def test_corrupt_pdf_fails_with_its_reason_and_leaves_the_rest_untouched(knowledge_base) -> None:
    good = _add(knowledge_base, "office-guide.txt")
    index_document(document_id=good.pk)
    good_chunks = list(Chunk.objects.filter(document=good).values_list("pk", flat=True))

    broken = _add(
        knowledge_base, "broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ntruncated"
    )
    assert index_document(document_id=broken.pk).outcome == "failed"
    broken.refresh_from_db()
    assert broken.status == Document.Status.FAILED
    assert "PDF" in broken.error and not broken.chunks.exists()
    assert list(Chunk.objects.filter(document=good).values_list("pk", flat=True)) == good_chunks


def test_uploads_of_unsupported_type_or_size_are_refused_before_storage(
    knowledge_base, settings
) -> None:
    with pytest.raises(UploadRejected, match="GIF image"):
        _add(knowledge_base, "photo.md", b"GIF89a" + b"\x00" * 20)
    settings.MAX_UPLOAD_BYTES = 10
    with pytest.raises(UploadRejected, match="limit"):
        _add(knowledge_base, "big.txt", b"x" * 11)
    assert not Document.objects.exists()


def test_a_document_being_processed_is_not_claimed_twice(knowledge_base) -> None:
    document = _add(knowledge_base, "office-guide.txt")
    assert queue.claim_document(document_id=document.pk)
    assert not queue.claim_document(document_id=document.pk)
    assert index_document(document_id=document.pk).outcome == "not_claimed"


def test_model_server_down_queues_a_later_retry_then_resumes_when_it_is_back(
    knowledge_base, settings, django_capture_on_commit_callbacks
) -> None:
    from django_tasks_db.models import DBTaskResult

    real_url = settings.EMBEDDINGS_BASE_URL
    settings.EMBEDDINGS_BASE_URL = "http://127.0.0.1:9/v1"
    settings.MODEL_API_MAX_RETRIES = 0
    document = _add(knowledge_base, "office-guide.txt")
    with django_capture_on_commit_callbacks(execute=True):
        assert index_document(document_id=document.pk).outcome == "retry_scheduled"
    document.refresh_from_db()
    assert document.status == Document.Status.QUEUED and not document.chunks.exists()
    assert document.error.startswith("Will retry in 30 s: The model server could not be reached")
    retry = DBTaskResult.objects.get()
    assert retry.run_after is not None and retry.args_kwargs["args"] == [document.pk]

    settings.EMBEDDINGS_BASE_URL = real_url
    assert index_document(document_id=document.pk).outcome == "indexed"
    document.refresh_from_db()
    assert document.status == Document.Status.READY and document.error == ""


def test_a_document_that_keeps_failing_ends_failed_with_its_reason(
    knowledge_base, settings
) -> None:
    settings.EMBEDDINGS_BASE_URL = "http://127.0.0.1:9/v1"
    settings.MODEL_API_MAX_RETRIES = 0
    settings.INGEST_MAX_ATTEMPTS = 2
    document = _add(knowledge_base, "office-guide.txt")
    assert index_document(document_id=document.pk).outcome == "retry_scheduled"
    assert index_document(document_id=document.pk).outcome == "failed"
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert document.error.startswith("Embedding failed: The model server could not be reached")
