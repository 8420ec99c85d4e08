"""Ingestion workflows: add a document, and turn a queued document into chunks.

Each step is safe to run twice: a document is claimed by a conditional UPDATE,
unchanged content (same sha256, same embedding model) makes no embedding call,
and new chunks replace old ones in one transaction.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.knowledge.chunking import ChunkDraft, chunk_text
from apps.knowledge.extract import (
    SUPPORTED_MIME_TYPES,
    ExtractionError,
    detect_mime_type,
    extract,
)
from apps.knowledge.models import VECTOR_DIMENSIONS, Chunk, Document, KnowledgeBase
from apps.modelapi.client import create_embeddings, embeddings_endpoint
from apps.modelapi.errors import ModelApiError

logger = logging.getLogger(__name__)

# A document left in "processing" this long (its worker died) may be claimed again.
PROCESSING_LEASE = timedelta(minutes=15)

Outcome = Literal["indexed", "unchanged", "failed", "not_claimed", "retry_scheduled"]


class UploadRejected(Exception):
    """An upload that is refused before anything is stored; the message is for the user."""


@dataclass(frozen=True)
class IngestResult:
    outcome: Outcome
    chunk_count: int = 0


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def validate_upload(*, data: bytes, filename: str) -> str:
    """Check size and content type of an upload; return its MIME type."""
    if len(data) > settings.MAX_UPLOAD_BYTES:
        raise UploadRejected(
            f"{filename} is {len(data):,} bytes; the limit is {settings.MAX_UPLOAD_BYTES:,} bytes."
        )
    if not data:
        raise UploadRejected(f"{filename} is empty.")
    try:
        mime_type = detect_mime_type(data, filename)
    except ExtractionError as exc:
        raise UploadRejected(f"{filename}: {exc}") from exc
    if mime_type not in SUPPORTED_MIME_TYPES:
        raise UploadRejected(f"{filename}: unsupported type {mime_type}.")
    return mime_type


def add_file_document(
    *, knowledge_base: KnowledgeBase, filename: str, data: bytes, title: str = ""
) -> Document:
    """Store an uploaded file as a queued document and enqueue its ingestion on commit.

    A file whose content is already in the knowledge base returns that document.
    """
    mime_type = validate_upload(data=data, filename=filename)
    digest = sha256_hex(data)
    existing = Document.objects.filter(knowledge_base=knowledge_base, sha256=digest).first()
    if existing is not None:
        return existing
    document = Document(
        knowledge_base=knowledge_base,
        title=(title or filename)[:500],
        source_kind=Document.SourceKind.FILE,
        mime_type=mime_type,
        sha256=digest,
    )
    document.file.save(filename, ContentFile(data), save=False)
    document.save()
    enqueue_ingestion(document_id=document.pk)
    return document


def replace_file_content(*, document: Document, filename: str, data: bytes) -> Document:
    """A new version of a document's file: re-ingested, old chunks kept until it is ready."""
    document.mime_type = validate_upload(data=data, filename=filename)
    document.sha256 = sha256_hex(data)
    document.file.save(filename, ContentFile(data), save=False)
    document.status = Document.Status.QUEUED
    document.save()
    enqueue_ingestion(document_id=document.pk)
    return document


def enqueue_ingestion(*, document_id: int, delay_seconds: float = 0.0) -> None:
    """Queue ingestion once the current transaction commits, optionally later."""
    from apps.knowledge.tasks import ingest_document_task

    task = ingest_document_task
    if delay_seconds > 0:
        task = task.using(run_after=timezone.now() + timedelta(seconds=delay_seconds))
    transaction.on_commit(lambda: task.enqueue(document_id))


def retry_delay_seconds(attempt: int) -> float:
    """30 s, 60 s, 120 s, … capped at 10 minutes: long enough for a model server to recover."""
    return float(min(settings.INGEST_RETRY_BASE_SECONDS * 2 ** max(attempt - 1, 0), 600))


def schedule_retry(document: Document, error: ModelApiError) -> IngestResult:
    """A model-server failure that may pass: queue the document again, or fail it for good."""
    if not error.retryable or document.attempts >= settings.INGEST_MAX_ATTEMPTS:
        document.mark_failed(f"Embedding failed: {error.user_message} ({error})")
        return IngestResult("failed")
    delay = retry_delay_seconds(document.attempts)
    document.mark_waiting(f"Will retry in {delay:.0f} s: {error.user_message}")
    enqueue_ingestion(document_id=document.pk, delay_seconds=delay)
    return IngestResult("retry_scheduled")


def claim_document(*, document_id: int) -> bool:
    """Atomically move a document to ``processing``; False if another worker holds it."""
    stale = timezone.now() - PROCESSING_LEASE
    claimable = ~Q(status=Document.Status.PROCESSING) | Q(updated_at__lt=stale)
    updated = Document.objects.filter(claimable, pk=document_id).update(
        status=Document.Status.PROCESSING,
        error="",
        attempts=F("attempts") + 1,
        updated_at=timezone.now(),
    )
    return updated == 1


def read_document_bytes(document: Document) -> bytes:
    if document.source_kind == Document.SourceKind.TEXT:
        return document.text.encode("utf-8")
    with document.file.open("rb") as handle:
        return bytes(handle.read())


def embedding_input(draft: ChunkDraft, *, title: str) -> str:
    """What is embedded for a chunk: its text with the document title and section for context."""
    context = " — ".join(part for part in (title, draft.heading) if part)
    return f"{context}\n{draft.text}" if context else draft.text


def ingest_document(*, document_id: int) -> IngestResult:
    """Extract, chunk, embed and store one document. Failures are recorded on the row."""
    if not claim_document(document_id=document_id):
        return IngestResult("not_claimed")
    document = Document.objects.select_related("knowledge_base").get(pk=document_id)
    model_name = embeddings_endpoint().model
    try:
        data = read_document_bytes(document)
        digest = sha256_hex(data)
        if (
            digest == document.indexed_sha256
            and model_name == document.indexed_embedding_model
            and document.chunks.exists()
        ):
            document.sha256 = digest
            document.save(update_fields=["sha256", "updated_at"])
            document.mark_ready(
                chunk_count=document.chunks.count(), sha256=digest, embedding_model=model_name
            )
            return IngestResult("unchanged", document.chunk_count)
        if not document.mime_type:
            document.mime_type = detect_mime_type(data, document.file.name or document.title)
        extracted = extract(data, document.mime_type)
        drafts = chunk_text(
            extracted,
            target_tokens=settings.CHUNK_TARGET_TOKENS,
            overlap_tokens=settings.CHUNK_OVERLAP_TOKENS,
        )
        if not drafts:
            raise ExtractionError("No text could be extracted from this document.")
        vectors = create_embeddings([embedding_input(d, title=document.title) for d in drafts])
        _check_dimensions(vectors)
        _store_chunks(
            document=document,
            drafts=drafts,
            vectors=vectors,
            sha256=digest,
            model_name=model_name,
        )
    except ExtractionError as exc:
        document.mark_failed(str(exc))
        return IngestResult("failed")
    except ModelApiError as exc:
        logger.warning("embedding failed for document %s: %s", document_id, exc)
        return schedule_retry(document, exc)
    except Exception as exc:
        logger.exception("ingestion of document %s failed", document_id)
        document.mark_failed(f"Internal error while indexing ({type(exc).__name__}).")
        return IngestResult("failed")
    return IngestResult("indexed", len(drafts))


def _check_dimensions(vectors: list[list[float]]) -> None:
    for vector in vectors:
        if len(vector) != VECTOR_DIMENSIONS:
            raise ModelApiError(
                f"the embedding model returned {len(vector)} dimensions; "
                f"this database stores {VECTOR_DIMENSIONS}",
                endpoint="embeddings",
                retryable=False,
            )


def _store_chunks(
    *,
    document: Document,
    drafts: list[ChunkDraft],
    vectors: list[list[float]],
    sha256: str,
    model_name: str,
) -> None:
    """Replace the document's chunks in one transaction: readers see old or new, never half."""
    with transaction.atomic():
        locked = Document.objects.select_for_update().get(pk=document.pk)
        knowledge_base = KnowledgeBase.objects.select_for_update().get(pk=locked.knowledge_base_id)
        if not knowledge_base.embedding_model:
            knowledge_base.embedding_model = model_name
            knowledge_base.embedding_dimensions = VECTOR_DIMENSIONS
            knowledge_base.save(update_fields=["embedding_model", "embedding_dimensions"])
        elif knowledge_base.embedding_model != model_name:
            raise ModelApiError(
                f"this knowledge base is indexed with {knowledge_base.embedding_model}, "
                f"not {model_name}; re-embed it first",
                endpoint="embeddings",
                retryable=False,
            )
        Chunk.objects.filter(document=locked).delete()
        Chunk.objects.bulk_create(
            Chunk(
                document=locked,
                knowledge_base_id=locked.knowledge_base_id,
                ordinal=draft.ordinal,
                text=draft.text,
                heading=draft.heading[:500],
                char_start=draft.char_start,
                char_end=draft.char_end,
                page=draft.page,
                token_count=draft.token_count,
                embedding=vector,
            )
            for draft, vector in zip(drafts, vectors, strict=True)
        )
        locked.mime_type = document.mime_type
        locked.sha256 = sha256
        locked.save(update_fields=["mime_type", "sha256", "updated_at"])
        locked.mark_ready(chunk_count=len(drafts), sha256=sha256, embedding_model=model_name)
