"""Adding to a knowledge base: uploads (files, archives), URLs, deletion, and the queue.

Writes happen here; the indexing steps themselves live in ``pipeline``. Each step
is safe to run twice: a document is claimed by a conditional UPDATE and tasks are
enqueued only once the transaction that created their row has committed.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.knowledge.errors import ExtractionError
from apps.knowledge.extract import MIME_ZIP, SUPPORTED_MIME_TYPES, detect_mime_type
from apps.knowledge.fetch import parse_target
from apps.knowledge.formats import ArchiveLimits, expand_zip
from apps.knowledge.models import Document, KnowledgeBase

logger = logging.getLogger(__name__)


def processing_lease() -> timedelta:
    """A document in "processing" whose heartbeat (progress write) is older than this lost
    its worker (killed, machine gone): it may be claimed again."""
    return timedelta(seconds=settings.INGEST_LEASE_SECONDS)


class UploadRejected(Exception):
    """An upload refused before anything is stored; the message is for the user."""


@dataclass(frozen=True)
class UploadOutcome:
    """What became of one uploaded item (a file, an archive member, or a URL)."""

    name: str
    document: Document | None
    error: str = ""
    duplicate: bool = False


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def validate_upload(*, data: bytes, filename: str) -> str:
    """Check size and content type of an upload; return its MIME type."""
    if not data:
        raise UploadRejected(f"{filename} is empty.")
    if len(data) > settings.MAX_UPLOAD_BYTES:
        raise UploadRejected(
            f"{filename} is {len(data):,} bytes; the limit is {settings.MAX_UPLOAD_BYTES:,} bytes."
        )
    try:
        mime_type = detect_mime_type(data, filename)
    except ExtractionError as exc:
        raise UploadRejected(f"{filename}: {exc}") from exc
    if mime_type not in SUPPORTED_MIME_TYPES:
        raise UploadRejected(f"{filename}: unsupported type {mime_type}.")
    return mime_type


def _title_from_name(name: str) -> str:
    """The uploaded name, kept only as a title (storage names are generated)."""
    cleaned = " ".join(name.replace("\x00", "").replace("\\", "/").split()) or "untitled"
    return cleaned[:500]


def add_file_document(
    *, knowledge_base: KnowledgeBase, filename: str, data: bytes, title: str = ""
) -> Document:
    """Store one file as a queued document and enqueue its ingestion on commit.

    The same content already in the knowledge base returns that document (nothing is
    embedded again); different content under the title of an existing file document
    is a new version of it: its chunks are replaced once the new version is indexed.
    """
    mime_type = validate_upload(data=data, filename=filename)
    if mime_type == MIME_ZIP:
        raise UploadRejected(f"{filename}: nested archives are not expanded.")
    digest = sha256_hex(data)
    existing = Document.objects.filter(knowledge_base=knowledge_base, sha256=digest).first()
    if existing is not None:
        return existing
    title = _title_from_name(title or filename)
    document = Document.objects.filter(
        knowledge_base=knowledge_base, source_kind=Document.SourceKind.FILE, title=title
    ).first()
    old_file = document.file.name if document is not None and document.file else ""
    if document is None:
        document = Document(
            knowledge_base=knowledge_base, title=title, source_kind=Document.SourceKind.FILE
        )
    document.mime_type = mime_type
    document.sha256 = digest
    document.status = Document.Status.QUEUED
    document.error = ""
    document.attempts = 0
    stored_name = PurePosixPath(filename.replace("\\", "/")).name or "file"
    document.file.save(stored_name, ContentFile(data), save=False)
    document.save()
    if old_file:
        storage = document.file.storage
        transaction.on_commit(lambda: storage.delete(old_file))
    enqueue_ingestion(document_id=document.pk)
    return document


def archive_limits() -> ArchiveLimits:
    return ArchiveLimits(
        max_members=settings.ARCHIVE_MAX_MEMBERS,
        max_expanded_bytes=settings.ARCHIVE_MAX_EXPANDED_BYTES,
        max_member_bytes=settings.MAX_UPLOAD_BYTES,
    )


def add_upload(*, knowledge_base: KnowledgeBase, filename: str, data: bytes) -> list[UploadOutcome]:
    """One uploaded file: a document, or for a ZIP archive one document per member."""
    try:
        mime_type = validate_upload(data=data, filename=filename)
        if mime_type != MIME_ZIP:
            return [_add_one(knowledge_base, filename, data)]
        members = expand_zip(data, archive_limits())
    except (UploadRejected, ExtractionError) as exc:
        return [UploadOutcome(filename, None, str(exc))]
    return [
        _add_one(knowledge_base, f"{filename}/{member.path}", member.data) for member in members
    ]


def _add_one(knowledge_base: KnowledgeBase, name: str, data: bytes) -> UploadOutcome:
    digest = sha256_hex(data)
    existed = Document.objects.filter(knowledge_base=knowledge_base, sha256=digest).exists()
    try:
        document = add_file_document(knowledge_base=knowledge_base, filename=name, data=data)
    except UploadRejected as exc:
        return UploadOutcome(name, None, str(exc))
    return UploadOutcome(name, document, duplicate=existed)


def add_url_document(*, knowledge_base: KnowledgeBase, url: str) -> UploadOutcome:
    """Queue a web page; it is fetched by the worker (with the address checks) when indexed."""
    url = url.strip()
    try:
        parse_target(url)
    except ExtractionError as exc:
        return UploadOutcome(url, None, str(exc))
    existing = Document.objects.filter(knowledge_base=knowledge_base, source_url=url).first()
    if existing is not None:
        return UploadOutcome(url, existing, duplicate=True)
    document = Document.objects.create(
        knowledge_base=knowledge_base,
        title=url[:500],
        source_kind=Document.SourceKind.URL,
        source_url=url,
        mime_type="",
    )
    enqueue_ingestion(document_id=document.pk)
    return UploadOutcome(url, document)


def request_reindex(*, document: Document) -> None:
    """Index again from the stored content (URLs are fetched again)."""
    Document.objects.filter(pk=document.pk).update(
        status=Document.Status.QUEUED, indexed_sha256="", error="", stage="", attempts=0
    )
    enqueue_ingestion(document_id=document.pk)


def delete_document(*, document: Document) -> None:
    """Remove a document; its chunks go in the same transaction, its file after commit."""
    storage, name = document.file.storage, document.file.name
    with transaction.atomic():
        document.delete()
        if name:
            transaction.on_commit(lambda: storage.delete(name))


def enqueue_ingestion(*, document_id: int, delay_seconds: float = 0.0) -> None:
    """Queue ingestion once the current transaction commits, optionally later."""
    from apps.knowledge.tasks import ingest_document_task

    task = ingest_document_task
    if delay_seconds > 0:
        task = task.using(run_after=timezone.now() + timedelta(seconds=delay_seconds))
    transaction.on_commit(lambda: task.enqueue(document_id))


def claim_document(*, document_id: int) -> bool:
    """Atomically move a document to ``processing``; False if a live worker holds it."""
    stale = timezone.now() - processing_lease()
    claimable = ~Q(status=Document.Status.PROCESSING) | Q(updated_at__lt=stale)
    updated = Document.objects.filter(claimable, pk=document_id).update(
        status=Document.Status.PROCESSING,
        attempts=F("attempts") + 1,
        stage="",
        progress_done=0,
        progress_total=0,
        updated_at=timezone.now(),
    )
    return updated == 1


def requeue_orphaned_queued_documents() -> list[int]:
    """Queued documents with no pending task (lost between enqueue and claim) get one."""
    from django_tasks_db.models import DBTaskResult

    from apps.knowledge.tasks import ingest_document_task

    stale = timezone.now() - processing_lease()
    queued = list(
        Document.objects.filter(status=Document.Status.QUEUED, updated_at__lt=stale).values_list(
            "pk", flat=True
        )
    )
    if not queued:
        return []
    pending = DBTaskResult.objects.filter(
        status__in=["READY", "RUNNING"], task_path=ingest_document_task.module_path
    ).values_list("args_kwargs", flat=True)
    waiting = {args["args"][0] for args in pending if args.get("args")}
    orphans = [pk for pk in queued if pk not in waiting]
    for document_id in orphans:
        logger.warning("document %s was queued without a task; enqueued again", document_id)
        Document.objects.filter(pk=document_id).update(updated_at=timezone.now())
        enqueue_ingestion(document_id=document_id)
    return orphans


def requeue_stale_documents() -> list[int]:
    """Documents whose worker died mid-way go back to the queue; returns their ids."""
    stale = timezone.now() - processing_lease()
    ids = list(
        Document.objects.filter(
            status=Document.Status.PROCESSING, updated_at__lt=stale
        ).values_list("pk", flat=True)
    )
    for document_id in ids:
        with transaction.atomic():
            stuck = Document.objects.filter(
                pk=document_id, status=Document.Status.PROCESSING, updated_at__lt=stale
            )
            gave_up = stuck.filter(attempts__gte=settings.INGEST_MAX_ATTEMPTS).update(
                status=Document.Status.FAILED,
                stage="",
                error=(
                    f"Gave up after {settings.INGEST_MAX_ATTEMPTS} attempts: the worker stopped "
                    "while indexing this document each time (out of memory?)."
                ),
                updated_at=timezone.now(),
            )
            if gave_up:
                logger.error("document %s killed its worker repeatedly; failed", document_id)
                continue
            if stuck.update(status=Document.Status.QUEUED, stage="", updated_at=timezone.now()):
                logger.warning("document %s lost its worker; queued again", document_id)
                enqueue_ingestion(document_id=document_id)
    return ids
