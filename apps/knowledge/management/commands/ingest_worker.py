from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.db import connection
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from apps.knowledge.queue import requeue_orphaned_queued_documents, requeue_stale_documents


def sweep_interval_seconds() -> float:
    """Often enough that a dead worker's document waits at most about one lease more."""
    return max(1.0, min(60.0, settings.INGEST_LEASE_SECONDS / 2))


def _sweep_forever(stop: threading.Event) -> None:
    while not stop.wait(sweep_interval_seconds()):
        try:
            requeue_stale_documents()
            requeue_orphaned_queued_documents()
        finally:
            connection.close()


class Command(DbWorkerCommand):
    help = (
        "The ingestion worker: django-tasks-db's db_worker, plus a sweep (at start and every "
        "half lease) that queues again documents whose worker died mid-way."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        requeued = requeue_stale_documents()
        if requeued:
            self.stdout.write(f"Queued again {len(requeued)} document(s) left by a dead worker.")
        stop = threading.Event()
        threading.Thread(target=_sweep_forever, args=(stop,), daemon=True).start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
