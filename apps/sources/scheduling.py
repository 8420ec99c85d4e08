"""When syncs run: tasks with ``run_after`` (no cron), a Sync now, cancelling, and the sweep
that keeps the schedule whole (single URL documents join it, lost tasks are enqueued again)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Literal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from apps.knowledge.models import Document
from apps.sources.models import ClaimMode, SitePage, SiteSource
from apps.sources.scope import normalise_url
from apps.sources.tasks import index_page_task, sweep_sources_task, sync_source_task

logger = logging.getLogger(__name__)

PENDING = ("READY", "RUNNING")


def sync_lease() -> timedelta:
    """A sync whose heartbeat is older than this lost its worker."""
    return timedelta(seconds=settings.SOURCES_SYNC_LEASE_SECONDS)


def enqueue_sync(*, source_id: int, mode: ClaimMode, at: datetime | None = None) -> None:
    """Queue a sync once the current transaction commits, at ``at`` if given."""
    task = sync_source_task
    if at is not None and at > timezone.now():
        task = task.using(run_after=at)
    transaction.on_commit(lambda: task.enqueue(source_id, mode))


def enqueue_page_indexing(*, document_id: int) -> None:
    transaction.on_commit(lambda: index_page_task.enqueue(document_id))


def schedule_next(source: SiteSource) -> None:
    """The next scheduled sync as a task that waits until it is due."""
    if source.next_sync_at is not None:
        enqueue_sync(source_id=source.pk, mode="scheduled", at=source.next_sync_at)


def request_sync_now(*, source: SiteSource) -> Literal["queued", "waiting", "running"]:
    """Sync now; a source already queued or syncing is not queued twice."""
    if not SiteSource.objects.request_sync(source_id=source.pk):
        state = SiteSource.objects.filter(pk=source.pk).values_list("state", flat=True).first()
        return "running" if state == SiteSource.State.SYNCING else "waiting"
    enqueue_sync(source_id=source.pk, mode="queued")
    ensure_sweep()
    return "queued"


def cancel_sync(*, source: SiteSource) -> Literal["unqueued", "stopping", "idle"]:
    return SiteSource.objects.cancel(source_id=source.pk)


def ensure_sweep() -> None:
    """One sweep waits in the queue at all times (enqueued after commit if none does)."""
    waiting = DBTaskResult.objects.filter(
        status="READY", task_path=sweep_sources_task.module_path
    ).exists()
    if not waiting:
        at = timezone.now() + timedelta(minutes=settings.SOURCES_SWEEP_MINUTES)
        task = sweep_sources_task.using(run_after=at)
        transaction.on_commit(lambda: task.enqueue())


def sweep() -> int:
    """Adopt single URL documents, release dead syncs, enqueue what lost its task; returns
    how many sources were touched. Ends by making sure the next sweep is queued."""
    touched = adopt_single_pages() + release_dead_syncs() + requeue_lost_syncs()
    ensure_sweep()
    return touched


def adopt_single_pages() -> int:
    """A URL added on its own (no source yet) becomes a one-page source, re-synced like any
    page: conditional GET, the hash, removal when gone. Its first re-sync is one interval
    after now (it was fetched when it was indexed)."""
    orphans = Document.objects.filter(
        source_kind=Document.SourceKind.URL,
        parent__isnull=True,
        site_page__isnull=True,
        status__in=[Document.Status.READY, Document.Status.FAILED],
    ).exclude(source_url="")
    adopted = 0
    for document in orphans.select_related("knowledge_base"):
        url = normalise_url(document.source_url) or document.source_url
        with transaction.atomic():
            source, _ = SiteSource.objects.get_or_create(
                knowledge_base=document.knowledge_base,
                kind=SiteSource.Kind.PAGE,
                start_url=url,
                defaults=single_page_defaults(url),
            )
            SitePage.objects.get_or_create(
                document=document, defaults={"source": source, "url": url}
            )
            schedule_next(source)
        adopted += 1
    return adopted


def single_page_defaults(url: str) -> dict[str, object]:
    every = settings.SOURCES_DEFAULT_EVERY_HOURS
    return {
        "scope": url,
        "max_pages": 1,
        "max_depth": 0,
        "every_hours": every,
        "next_sync_at": timezone.now() + timedelta(hours=every) if every else None,
    }


def release_dead_syncs() -> int:
    """A sync whose worker died: idle again, failed with a reason, due at once."""
    stale = timezone.now() - sync_lease()
    return SiteSource.objects.filter(state=SiteSource.State.SYNCING, heartbeat_at__lt=stale).update(
        state=SiteSource.State.IDLE,
        claim_token="",
        cancel_requested=False,
        last_outcome=SiteSource.Outcome.FAILED,
        last_error="The sync stopped part-way (its worker was lost); it runs again.",
        next_sync_at=timezone.now(),
    )


def requeue_lost_syncs() -> int:
    """Sources that are due, or queued by Sync now, with no task waiting for them."""
    pending = DBTaskResult.objects.filter(
        status__in=PENDING, task_path=sync_source_task.module_path
    ).values_list("args_kwargs", flat=True)
    waiting = {args["args"][0] for args in pending if args.get("args")}
    due = Q(every_hours__gt=0, next_sync_at__lte=timezone.now()) | Q(state=SiteSource.State.QUEUED)
    lost = SiteSource.objects.filter(due).exclude(state=SiteSource.State.SYNCING)
    count = 0
    for source_id, state in lost.values_list("pk", "state"):
        if source_id in waiting:
            continue
        logger.warning("source %s had no sync task waiting; enqueued again", source_id)
        queued = state == SiteSource.State.QUEUED
        enqueue_sync(source_id=source_id, mode="queued" if queued else "scheduled")
        count += 1
    return count
