"""The ingestion queue: enqueueing on commit, re-queueing on request, and the sweeps that
recover documents whose worker died or whose task was lost.

A document row is the job; its state changes live on the model (``Document`` methods and
``Document.objects`` claims). The task itself (``tasks.index_document_task``) is thin.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from apps.knowledge.models import Document
from apps.knowledge.tasks import index_document_task, relex_knowledge_base_task

logger = logging.getLogger(__name__)


def processing_lease() -> timedelta:
    """A document in "processing" whose heartbeat (progress write) is older than this lost
    its worker (killed, machine gone): it may be claimed again."""
    return timedelta(seconds=settings.INGEST_LEASE_SECONDS)


def enqueue_indexing(*, document_id: int, delay_seconds: float = 0.0) -> None:
    """Queue indexing once the current transaction commits, optionally later."""
    task = index_document_task
    if delay_seconds > 0:
        task = task.using(run_after=timezone.now() + timedelta(seconds=delay_seconds))
    transaction.on_commit(lambda: task.enqueue(document_id))


def enqueue_relexing(*, knowledge_base_id: int) -> None:
    """Write the base's full-text entries again (its language changed), after commit."""
    transaction.on_commit(lambda: relex_knowledge_base_task.enqueue(knowledge_base_id))


def claim_document(*, document_id: int) -> bool:
    """Take a document for indexing; False if a live worker holds it."""
    return Document.objects.claim(
        document_id=document_id, stale=timezone.now() - processing_lease()
    )


def request_reindex(*, document: Document) -> None:
    """Index again from the stored content (URLs are fetched again)."""
    document.queue_again()
    enqueue_indexing(document_id=document.pk)


def requeue_orphaned_queued_documents() -> list[int]:
    """Queued documents with no pending task (lost between enqueue and claim) get one."""
    stale = timezone.now() - processing_lease()
    queued = list(Document.objects.queued_before(stale).values_list("pk", flat=True))
    if not queued:
        return []
    pending = DBTaskResult.objects.filter(
        status__in=["READY", "RUNNING"], task_path=index_document_task.module_path
    ).values_list("args_kwargs", flat=True)
    waiting = {args["args"][0] for args in pending if args.get("args")}
    orphans = [pk for pk in queued if pk not in waiting]
    for document_id in orphans:
        logger.warning("document %s was queued without a task; enqueued again", document_id)
        Document.objects.touch(document_id=document_id)
        enqueue_indexing(document_id=document_id)
    return orphans


def requeue_stale_documents() -> list[int]:
    """Documents whose worker died mid-way go back to the queue; returns their ids.

    One that has used up ``INGEST_MAX_ATTEMPTS`` (it kills its worker every time) fails.
    """
    stale = timezone.now() - processing_lease()
    ids = list(Document.objects.processing_before(stale).values_list("pk", flat=True))
    for document_id in ids:
        with transaction.atomic():
            outcome = Document.objects.release_stale(
                document_id=document_id, stale=stale, max_attempts=settings.INGEST_MAX_ATTEMPTS
            )
            if outcome == "failed":
                logger.error("document %s killed its worker repeatedly; failed", document_id)
            elif outcome == "queued":
                logger.warning("document %s lost its worker; queued again", document_id)
                enqueue_indexing(document_id=document_id)
    return ids
