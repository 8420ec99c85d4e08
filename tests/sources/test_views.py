"""Staff see each source (pages, last and next sync, what changed, errors) and act on it:
Sync now, cancel, add, remove; only on knowledge bases they manage."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from apps.knowledge.models import Document
from apps.sources.models import SiteSource
from apps.sources.tasks import sync_source_task
from tests.sources.world import add_site, sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def synced(knowledge_base, site) -> SiteSource:
    source = add_site(knowledge_base, f"{site.base}/docs/", max_depth=1)
    sync(source)
    return source


def test_the_manage_page_shows_each_source_with_its_last_and_next_sync(
    staff, knowledge_base, synced
) -> None:
    html = staff.get(reverse("knowledge:manage", args=[knowledge_base.pk])).content.decode()
    assert f'<tr data-source="{synced.pk}">' in html and synced.start_url in html
    assert "3 added, 0 updated, 0 unchanged, 0 removed" in html and "1 failed" in html
    assert reverse("sources:sync", args=[synced.pk]) in html and "Sync now" in html
    assert "Add site" in html


def test_the_source_page_lists_its_pages_and_errors(staff, synced, site) -> None:
    html = staff.get(reverse("sources:source", args=[synced.pk])).content.decode()
    assert "Pages (3)" in html and f"{site.base}/docs/a" in html
    assert "/docs/slow" in html and "did not answer in time" in html
    assert "re-synced every 24 hours" in html and "next sync" in html


def test_sync_now_queues_one_sync_and_cancel_drops_it(
    staff, synced, django_capture_on_commit_callbacks
) -> None:
    DBTaskResult.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(reverse("sources:sync", args=[synced.pk]))
        again = staff.post(reverse("sources:sync", args=[synced.pk]), follow=True)
    assert response.status_code == 302 and "is queued already" in again.content.decode()
    synced.refresh_from_db()
    assert synced.state == SiteSource.State.QUEUED
    [task] = DBTaskResult.objects.filter(task_path=sync_source_task.module_path)
    assert task.args_kwargs["args"] == [synced.pk, "queued"]
    html = staff.get(reverse("sources:source", args=[synced.pk])).content.decode()
    assert "Cancel sync" in html
    staff.post(reverse("sources:cancel", args=[synced.pk]))
    synced.refresh_from_db()
    assert synced.state == SiteSource.State.IDLE


def test_sync_now_is_refused_while_a_sync_runs(staff, synced) -> None:
    SiteSource.objects.filter(pk=synced.pk).update(state=SiteSource.State.SYNCING)
    response = staff.post(reverse("sources:sync", args=[synced.pk]), follow=True)
    assert "is syncing already" in response.content.decode()
    staff.post(reverse("sources:cancel", args=[synced.pk]))
    assert SiteSource.objects.get(pk=synced.pk).cancel_requested


def test_adding_a_site_from_the_page_queues_its_first_sync(
    staff, knowledge_base, site, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            reverse("sources:add", args=[knowledge_base.pk]),
            {"start_url": f"{site.base}/docs/a", "max_pages": 7, "max_depth": 0, "every_hours": 12},
        )
    source = SiteSource.objects.get()
    assert response["Location"] == reverse("sources:source", args=[source.pk])
    assert (source.max_pages, source.max_depth, source.every_hours) == (7, 0, 12)
    assert source.scope == f"{site.base}/docs/" and source.state == SiteSource.State.QUEUED
    assert DBTaskResult.objects.filter(task_path=sync_source_task.module_path).exists()


@pytest.mark.parametrize(
    ("url", "reason"),
    [("ftp://example.com/", "Only http and https"), ("https://user:pw@example.com/", "password")],
)
def test_a_bad_start_url_is_refused_with_its_reason(staff, knowledge_base, url, reason) -> None:
    response = staff.post(
        reverse("sources:add", args=[knowledge_base.pk]),
        {"start_url": url, "max_pages": 5, "max_depth": 1, "every_hours": 24},
        follow=True,
    )
    assert reason in response.content.decode() and not SiteSource.objects.exists()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9/docs/", "private or reserved address (127.0.0.1)"),
        ("http://169.254.169.254/latest/", "private or reserved address (169.254.169.254)"),
        ("http://[::ffff:10.0.0.1]/", "private or reserved address"),
    ],
)
def test_a_start_url_on_a_private_address_is_refused_when_added(
    staff, knowledge_base, url, reason
) -> None:
    response = staff.post(
        reverse("sources:add", args=[knowledge_base.pk]),
        {"start_url": url, "max_pages": 5, "max_depth": 1, "every_hours": 24},
        follow=True,
    )
    assert reason in response.content.decode() and not SiteSource.objects.exists()


def test_a_scope_that_excludes_the_start_url_is_refused(staff, knowledge_base, site) -> None:
    response = staff.post(
        reverse("sources:add", args=[knowledge_base.pk]),
        {
            "start_url": f"{site.base}/docs/a",
            "scope": f"{site.base}/blog/",
            "max_pages": 5,
            "max_depth": 1,
            "every_hours": 24,
        },
        follow=True,
    )
    assert "does not include the start URL" in response.content.decode()
    assert not SiteSource.objects.exists()


def test_a_page_limit_over_the_ceiling_is_refused(staff, knowledge_base, settings) -> None:
    settings.SOURCES_MAX_PAGES_LIMIT = 100
    response = staff.post(
        reverse("sources:add", args=[knowledge_base.pk]),
        {"start_url": "https://example.com/", "max_pages": 101, "max_depth": 1, "every_hours": 1},
        follow=True,
    )
    assert "At most 100 pages" in response.content.decode() and not SiteSource.objects.exists()


def test_removing_a_source_removes_its_documents(staff, synced, knowledge_base) -> None:
    assert knowledge_base.documents.count() == 3
    response = staff.post(reverse("sources:delete", args=[synced.pk]))
    assert response["Location"] == reverse("knowledge:manage", args=[knowledge_base.pk])
    assert not SiteSource.objects.exists() and not Document.objects.exists()


@pytest.mark.parametrize("who", ["member", "other staff"])
def test_only_who_manages_the_base_reaches_its_sources(client, synced, who) -> None:
    user = User.objects.create_user(who.replace(" ", "-"), is_staff=who == "other staff")
    synced.knowledge_base.shared_with_all = True  # readable is not manageable
    synced.knowledge_base.save()
    client.force_login(user)
    for name in ("sources:source", "sources:sync", "sources:cancel", "sources:delete"):
        method = client.get if name == "sources:source" else client.post
        assert method(reverse(name, args=[synced.pk])).status_code == 404
    assert SiteSource.objects.get(pk=synced.pk).state == SiteSource.State.IDLE
