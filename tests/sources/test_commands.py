"""`manage.py add_site` and `manage.py sync_sources`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_tasks_db.models import DBTaskResult

from apps.knowledge.models import Document
from apps.sources.models import SiteSource
from apps.sources.tasks import sync_source_task

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_add_site_adds_a_source_with_its_limits_and_queues_its_first_sync(
    knowledge_base, site, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        output = _run(
            "add_site",
            f"{site.base}/docs/",
            "--knowledge-base",
            knowledge_base.name,
            "--max-pages",
            "2",
            "--every",
            "12",
        )
    source = SiteSource.objects.get()
    assert (source.max_pages, source.every_hours, source.scope) == (2, 12, f"{site.base}/docs/")
    assert f"Added source {source.pk}" in output and "every 12 h" in output
    assert DBTaskResult.objects.filter(task_path=sync_source_task.module_path).exists()
    assert site.requests == []  # the worker syncs it, not the command


def test_add_site_refuses_an_unknown_base_and_a_duplicate(knowledge_base, site) -> None:
    with pytest.raises(CommandError, match="No knowledge base"):
        _run("add_site", f"{site.base}/docs/", "--knowledge-base", "nope")
    _run("add_site", f"{site.base}/docs/", "--knowledge-base", knowledge_base.name)
    with pytest.raises(CommandError, match="already a source"):
        _run("add_site", f"{site.base}/docs/", "--knowledge-base", knowledge_base.name)


def test_sync_sources_syncs_in_the_foreground_and_prints_what_changed(knowledge_base, site) -> None:
    _run(
        "add_site",
        f"{site.base}/docs/",
        "--knowledge-base",
        knowledge_base.name,
        "--max-depth",
        "1",
    )
    source = SiteSource.objects.get()
    first = _run("sync_sources", "--source", str(source.pk))
    assert "done: 3 added, 0 updated, 0 unchanged, 0 removed, 1 failed" in first
    assert "disallowed by robots.txt" in first and "did not answer in time" in first
    assert Document.objects.count() == 3
    again = _run("sync_sources")
    assert "done: 0 added, 0 updated, 3 unchanged" in again


def test_sync_sources_names_an_unknown_source(db) -> None:
    with pytest.raises(CommandError, match="No source has the id 999"):
        _run("sync_sources", "--source", "999")
