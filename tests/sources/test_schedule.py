"""The schedule (tasks with run_after, no cron), Sync now and cancel, one sync per source at
a time (a claim with a lease; two real workers), and single URLs re-synced like pages."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from apps.knowledge.indexing import index_document
from apps.knowledge.models import Document
from apps.knowledge.uploads import add_url_document
from apps.sources.models import SiteSource
from apps.sources.scheduling import cancel_sync, request_sync_now, sweep
from apps.sources.sync import run_sync
from apps.sources.tasks import sweep_sources_task, sync_source_task
from tests.sources.site import Page
from tests.sources.world import add_site, sync

pytestmark = pytest.mark.django_db(transaction=True)


def _sync_tasks(mode: str) -> list[DBTaskResult]:
    return [
        task
        for task in DBTaskResult.objects.filter(task_path=sync_source_task.module_path)
        if task.args_kwargs["args"][1] == mode
    ]


def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def test_a_sync_schedules_the_next_one_as_a_task_with_run_after(knowledge_base, site) -> None:
    source = add_site(knowledge_base, f"{site.base}/docs/a", max_depth=0, every_hours=6)
    before = timezone.now()
    sync(source)
    assert source.next_sync_at is not None
    assert timedelta(hours=6) <= source.next_sync_at - before < timedelta(hours=6, minutes=1)
    [scheduled] = _sync_tasks("scheduled")
    assert scheduled.status == "READY" and scheduled.run_after == source.next_sync_at
    assert DBTaskResult.objects.filter(
        task_path=sweep_sources_task.module_path, status="READY"
    ).exists()


def test_a_scheduled_task_before_its_time_does_nothing(knowledge_base, site) -> None:
    source = add_site(knowledge_base, f"{site.base}/docs/a", max_depth=0)
    sync(source)
    asked = len(site.requests)
    report = run_sync(source_id=source.pk, mode="scheduled")
    assert report.outcome == "skipped" and len(site.requests) == asked
    SiteSource.objects.filter(pk=source.pk).update(next_sync_at=timezone.now())
    assert run_sync(source_id=source.pk, mode="scheduled").outcome == "done"


def test_a_source_synced_on_request_only_has_no_next_sync(knowledge_base, site) -> None:
    source = add_site(knowledge_base, f"{site.base}/docs/a", max_depth=0, every_hours=0)
    sync(source)
    assert source.next_sync_at is None and _sync_tasks("scheduled") == []


def test_a_second_sync_is_refused_while_one_holds_the_source(
    knowledge_base, site, settings
) -> None:
    source = add_site(knowledge_base, f"{site.base}/docs/a", max_depth=0)
    token = SiteSource.objects.claim(source_id=source.pk, stale=timezone.now(), mode="now")
    assert token is not None
    stale = timezone.now() - timedelta(seconds=settings.SOURCES_SYNC_LEASE_SECONDS)
    assert SiteSource.objects.claim(source_id=source.pk, stale=stale, mode="now") is None
    assert run_sync(source_id=source.pk, mode="now").outcome == "busy"
    assert request_sync_now(source=source) == "running"  # not queued twice either
    assert site.requests == []
    # The holder's heartbeat stops (its worker died): after the lease, a sync may run.
    SiteSource.objects.filter(pk=source.pk).update(heartbeat_at=stale - timedelta(seconds=1))
    assert run_sync(source_id=source.pk, mode="now").outcome == "done"


def test_two_workers_never_run_two_syncs_of_one_source_at_once(
    knowledge_base, site, start_worker
) -> None:
    for name in "pqrst":
        site.html(f"/slow/{name}", name, f"<p>Page {name}.</p>", delay=0.4)
    links = "".join(f"<a href='/slow/{name}'>{name}</a>" for name in "pqrst")
    site.html("/slow/", "Slow site", f"<p>Index.</p>{links}", delay=0.4)
    source = add_site(knowledge_base, f"{site.base}/slow/", max_depth=1, every_hours=0)
    SiteSource.objects.filter(pk=source.pk).update(state=SiteSource.State.IDLE)
    DBTaskResult.objects.all().delete()
    env = {
        "URL_FETCH_ALLOWED_PRIVATE_HOSTS": f"127.0.0.1:{site.port}",
        "SOURCES_CRAWL_DELAY_SECONDS": "0",
    }
    start_worker(**env), start_worker(**env)
    time.sleep(4)  # both workers up and polling
    sync_source_task.enqueue(source.pk, "now")
    sync_source_task.enqueue(source.pk, "now")
    _wait_for(lambda: len(_finished()) == 2)
    assert sorted(task.return_value for task in _finished()) == ["busy", "done"]
    assert site.max_in_flight == 1
    source.refresh_from_db()
    assert source.added_count == 6 and source.pages.count() == 6


def _finished() -> list[DBTaskResult]:
    return list(
        DBTaskResult.objects.filter(task_path=sync_source_task.module_path, status="SUCCESSFUL")
    )


def test_a_running_sync_can_be_cancelled(knowledge_base, site) -> None:
    for name in "pqrst":
        site.html(f"/slow/{name}", name, f"<p>Page {name}.</p>", delay=0.3)
    links = "".join(f"<a href='/slow/{name}'>{name}</a>" for name in "pqrst")
    site.html("/slow/", "Slow site", f"<p>Index.</p>{links}")
    source = add_site(knowledge_base, f"{site.base}/slow/", max_depth=1)
    reports = []

    def run() -> None:
        reports.append(run_sync(source_id=source.pk, mode="queued"))
        connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    _wait_for(lambda: "/slow/p" in site.paths())
    assert cancel_sync(source=source) == "stopping"
    worker.join(timeout=30)
    source.refresh_from_db()
    assert reports[0].outcome == "cancelled" and source.last_outcome == "cancelled"
    assert source.state == SiteSource.State.IDLE and source.pages.count() < 6
    assert "/slow/t" not in site.paths()


def test_a_queued_sync_can_be_cancelled_before_it_starts(knowledge_base, site) -> None:
    source = add_site(knowledge_base, f"{site.base}/docs/a", max_depth=0)
    assert source.state == SiteSource.State.QUEUED  # its first sync
    assert cancel_sync(source=source) == "unqueued"
    assert run_sync(source_id=source.pk, mode="queued").outcome == "skipped"
    assert site.requests == []
    assert request_sync_now(source=source) == "queued"
    assert request_sync_now(source=source) == "waiting"
    assert run_sync(source_id=source.pk, mode="queued").outcome == "done"


def test_a_single_url_joins_the_schedule_and_is_re_synced_conditionally(
    knowledge_base, site
) -> None:
    outcome = add_url_document(knowledge_base=knowledge_base, url=f"{site.base}/docs/a")
    assert outcome.document is not None
    assert index_document(document_id=outcome.document.pk).outcome == "indexed"
    before = timezone.now()
    assert sweep() == 1
    source = SiteSource.objects.get(kind=SiteSource.Kind.PAGE)
    assert source.pages.get().document_id == outcome.document.pk
    assert source.next_sync_at is not None and source.next_sync_at - before >= timedelta(hours=24)
    [scheduled] = _sync_tasks("scheduled")
    assert scheduled.run_after == source.next_sync_at

    assert sync(source).unchanged == 1  # same content: the hash says so (no ETag known yet)
    assert sync(source).unchanged == 1
    assert site.asked("/docs/a")[-1]["headers"]["If-None-Match"] == '"a-1"'
    assert sweep() == 0  # adopted once


def test_a_single_url_that_redirects_to_a_private_address_is_refused(knowledge_base, site) -> None:
    outcome = add_url_document(knowledge_base=knowledge_base, url=f"{site.base}/docs/b")
    assert outcome.document is not None
    index_document(document_id=outcome.document.pk)
    sweep()
    source = SiteSource.objects.get(kind=SiteSource.Kind.PAGE)
    site.pages["/docs/b"] = Page(b"", status=302, location="http://169.254.169.254/latest/")
    report = sync(source)
    assert report.failed == 1 and "Refused" in source.last_error
    assert "169.254.169.254" in source.pages.get().error
    assert Document.objects.get(pk=outcome.document.pk).chunks.exists()  # kept as it was


def test_the_sweep_releases_a_sync_whose_worker_died_and_queues_it_again(
    knowledge_base, site, settings
) -> None:
    source = add_site(knowledge_base, f"{site.base}/docs/a", max_depth=0)
    DBTaskResult.objects.all().delete()
    long_ago = timezone.now() - timedelta(seconds=settings.SOURCES_SYNC_LEASE_SECONDS + 5)
    SiteSource.objects.filter(pk=source.pk).update(
        state=SiteSource.State.SYNCING, claim_token="dead", heartbeat_at=long_ago
    )
    assert sweep() == 2  # released, then enqueued
    source.refresh_from_db()
    assert (source.state, source.last_outcome) == ("idle", "failed")
    assert "worker was lost" in source.last_error
    assert len(_sync_tasks("scheduled")) == 1


def test_indexing_a_single_url_in_a_worker_starts_the_sweep_that_adopts_it(
    knowledge_base, site
) -> None:
    from tests.sources.conftest import run_ready_tasks

    outcome = add_url_document(knowledge_base=knowledge_base, url=f"{site.base}/docs/a")
    assert not DBTaskResult.objects.filter(task_path=sweep_sources_task.module_path).exists()
    run_ready_tasks()  # indexes the page; the sweep is queued for later
    [waiting] = DBTaskResult.objects.filter(task_path=sweep_sources_task.module_path)
    assert waiting.status == "READY" and waiting.run_after > timezone.now()
    DBTaskResult.objects.filter(pk=waiting.pk).update(run_after=timezone.now())
    run_ready_tasks()  # the sweep runs: the URL joins the schedule, the next sweep waits
    source = SiteSource.objects.get(kind=SiteSource.Kind.PAGE)
    assert source.pages.get().document_id == outcome.document.pk
    assert (
        DBTaskResult.objects.filter(
            task_path=sweep_sources_task.module_path, status="READY"
        ).count()
        == 1
    )
