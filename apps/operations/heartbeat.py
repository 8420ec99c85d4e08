"""The ingestion workers' heartbeats, recorded from the ``worker_alive`` signal.

The worker (``apps/knowledge``) may not import this app, so it sends
``apps.modelapi.observe.worker_alive``; ``OperationsConfig.ready`` connects ``record_heartbeat``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from apps.operations.models import WorkerHeartbeat

# Rows of workers gone this long are deleted (every restart brings a new worker id).
FORGET_AFTER = timedelta(days=1)


def record_heartbeat(sender: object = None, *, worker_id: str, **kwargs: Any) -> None:
    """Move ``worker_id``'s row to now (one upsert) and forget long-gone workers."""
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(worker_id=worker_id[:64], defaults={"seen_at": now})
    WorkerHeartbeat.objects.filter(seen_at__lt=now - FORGET_AFTER).delete()


def worker_seen_recently() -> bool:
    """Whether any worker said it was alive within ``READYZ_WORKER_MAX_AGE_SECONDS``."""
    since = timezone.now() - timedelta(seconds=settings.READYZ_WORKER_MAX_AGE_SECONDS)
    return WorkerHeartbeat.objects.filter(seen_at__gte=since).exists()
