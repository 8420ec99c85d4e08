from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.utils.autoreload import run_with_reloader
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.management.commands.db_worker import Worker

from apps.knowledge.queue import requeue_orphaned_queued_documents, requeue_stale_documents
from apps.modelapi import observe

# A child of the worker's logger, so that its messages go where the worker's go.
logger = logging.getLogger("django_tasks_db.ingest_worker")

DATABASE_ERRORS = (OperationalError, InterfaceError)
MAX_RECONNECT_DELAY_SECONDS = 5.0


def sweep_interval_seconds() -> float:
    """Often enough that a dead worker's document waits at most about one lease more."""
    return max(1.0, min(60.0, settings.INGEST_LEASE_SECONDS / 2))


def sweep_once(worker_id: str = "") -> None:
    """Queue again what dead workers left; a database that is away is tried next time.
    With ``worker_id``, say first that this worker is alive (the readiness check reads it)."""
    try:
        if worker_id:
            observe.worker_seen(worker_id)
        requeue_stale_documents()
        requeue_orphaned_queued_documents()
    except DATABASE_ERRORS as exc:
        logger.warning("sweep skipped, the database is not answering: %s", exc)
    finally:
        connections.close_all()


def _sweep_forever(stop: threading.Event, worker_id: str) -> None:
    while not stop.wait(sweep_interval_seconds()):
        sweep_once(worker_id)


def reconnect_delay(failures: int) -> float:
    return float(min(MAX_RECONNECT_DELAY_SECONDS, 0.5 * 2 ** max(0, failures - 1)))


class ResilientWorker(Worker):
    """django-tasks-db's worker, carrying on through a database restart.

    Its loop ends on any database error, its own task bookkeeping included. This one closes
    the dead connections and starts the loop again, waiting longer each time (up to
    ``MAX_RECONNECT_DELAY_SECONDS``) until the server answers. A task cut off mid-way
    committed nothing; its document's lease runs out and the sweep queues it again.
    """

    def run(self) -> None:
        failures = 0
        while self.running:
            started = time.monotonic()
            try:
                super().run()
                return
            except DATABASE_ERRORS as exc:
                connections.close_all()
                failures = 1 if time.monotonic() - started > 30 else failures + 1
                delay = reconnect_delay(failures)
                logger.warning("database not answering (%s); trying again in %.1f s", exc, delay)
                time.sleep(delay)


def serve(worker: Worker) -> None:
    worker.configure_signals()
    worker.run()


class Command(DbWorkerCommand):
    help = (
        "The ingestion worker: django-tasks-db's db_worker that waits out a database restart, "
        "plus a sweep (at start and every half lease) that queues again documents whose "
        "worker died mid-way."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.configure_logging(options["verbosity"])
        requeued = requeue_stale_documents()
        if requeued:
            self.stdout.write(f"Queued again {len(requeued)} document(s) left by a dead worker.")
        worker_id = options["worker_id"]
        observe.worker_seen(worker_id)
        stop = threading.Event()
        threading.Thread(target=_sweep_forever, args=(stop, worker_id), daemon=True).start()
        try:
            self.run_worker(options)
        finally:
            stop.set()

    def run_worker(self, options: dict[str, Any]) -> None:
        exclude = options["exclude_queues"]
        worker = ResilientWorker(
            queue_names=options["queue_name"].split(","),
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=exclude.split(",") if exclude else [],
        )
        if options["reload"] and not options["batch"]:
            run_with_reloader(serve, worker)  # serve runs in the reloader's child only
        else:
            serve(worker)
