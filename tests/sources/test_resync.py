"""Re-syncs: conditional GET and the content hash (unchanged pages cost no embedding call),
changed pages as new versions (the old one answers until the new one is indexed), pages
gone twice in a row or out of scope removed."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from apps.knowledge import embedding
from apps.knowledge.models import Chunk, Document
from tests.sources.conftest import run_ready_tasks
from tests.sources.site import Page
from tests.sources.world import add_site, page_urls, sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def embedding_calls(monkeypatch) -> list[int]:
    """The real embedding requests (to the local provider), counted on their way out."""
    calls: list[int] = []
    real: Callable[..., list[list[float]]] = embedding.create_embeddings

    def counted(inputs: list[str], *args, **kwargs) -> list[list[float]]:
        calls.append(len(inputs))
        return real(inputs, *args, **kwargs)

    monkeypatch.setattr(embedding, "create_embeddings", counted)
    return calls


@pytest.fixture
def synced(knowledge_base, site, embedding_calls):
    """The docs site after its first sync, every page indexed."""
    source = add_site(knowledge_base, f"{site.base}/docs/", max_depth=1)
    run_ready_tasks()
    source.refresh_from_db()
    assert source.added_count == 3 and embedding_calls
    assert set(Document.objects.values_list("status", flat=True)) == {Document.Status.READY}
    return source


def _texts(url: str) -> str:
    return " ".join(Chunk.objects.filter(document__source_url=url).values_list("text", flat=True))


def test_an_unchanged_site_costs_no_embedding_call(synced, site, embedding_calls) -> None:
    embedding_calls.clear()
    asked_before = len(site.requests)
    report = sync(synced)
    run_ready_tasks()
    assert (report.unchanged, report.updated, report.added) == (3, 0, 0)
    assert embedding_calls == []
    again = site.requests[asked_before:]
    guide_a = next(r for r in again if r["path"] == "/docs/a")
    guide_b = next(r for r in again if r["path"] == "/docs/b")
    assert guide_a["headers"]["If-None-Match"] == '"a-1"'  # answered 304 by the site
    assert guide_b["headers"]["If-Modified-Since"] == "Wed, 01 Jan 2025 10:00:00 GMT"
    assert synced.unchanged_count == 3


def test_a_changed_page_is_a_new_version_and_the_old_one_answers_until_it_is_indexed(
    synced, site, embedding_calls
) -> None:
    url = f"{site.base}/docs/a"
    document = Document.objects.get(source_url=url)
    site.html(
        "/docs/a",
        "Guide A",
        "<p>Travel expenses are now reimbursed within seven days of the claim, by bank "
        "transfer, after the manager approved them in the expense tool.</p>"
        "<p>Receipts are still needed for every item above ten euros.</p>",
        etag='"a-2"',
    )
    embedding_calls.clear()
    report = sync(synced)
    assert (report.updated, report.unchanged) == (1, 2)
    document.refresh_from_db()
    assert document.status == Document.Status.QUEUED
    assert "fourteen days" in _texts(url) and "seven days" not in _texts(url)  # old, whole

    asked = len(site.asked("/docs/a"))
    run_ready_tasks()
    document.refresh_from_db()
    assert document.status == Document.Status.READY
    assert "seven days" in _texts(url) and "fourteen days" not in _texts(url)
    assert Document.objects.filter(source_url=url).count() == 1  # a version, not a copy
    assert len(site.asked("/docs/a")) == asked  # indexed from the stored copy
    assert embedding_calls  # only the changed page was embedded
    assert sum(embedding_calls) == document.chunk_count


def test_a_page_gone_on_two_syncs_in_a_row_is_removed(synced, site) -> None:
    url = f"{site.base}/docs/b"
    site.pages["/docs/b"] = Page(b"gone", status=404)
    sync(synced)
    page = synced.pages.get(url=url)
    assert page.missing_syncs == 1 and "404" in page.error
    assert _texts(url)  # still answering after one miss

    site.pages["/docs/b"] = Page(b"gone for good", status=410)
    report = sync(synced)
    assert report.removed == 1 and synced.removed_count == 1
    assert not Document.objects.filter(source_url=url).exists()
    assert not Chunk.objects.filter(document__source_url=url).exists()


def test_a_page_that_comes_back_after_one_miss_is_kept(synced, site) -> None:
    saved = site.pages["/docs/b"]
    site.pages["/docs/b"] = Page(b"gone", status=404)
    sync(synced)
    site.pages["/docs/b"] = saved
    sync(synced)
    site.pages["/docs/b"] = Page(b"gone", status=404)
    sync(synced)
    assert synced.pages.get(url=f"{site.base}/docs/b").missing_syncs == 1


def test_pages_out_of_a_narrowed_scope_are_removed(synced, site) -> None:
    synced.start_url = synced.scope = f"{site.base}/docs/a"
    synced.save()
    report = sync(synced)
    assert page_urls(synced) == {f"{site.base}/docs/a"} and report.removed == 2
    assert set(Document.objects.values_list("source_url", flat=True)) == {f"{site.base}/docs/a"}


def test_a_page_that_now_redirects_out_of_scope_is_removed(synced, site) -> None:
    site.pages["/docs/b"] = Page(b"", status=301, location="/blog/news")
    report = sync(synced)
    assert report.removed == 1 and f"{site.base}/docs/b" not in page_urls(synced)
    assert "/blog/news" not in site.paths()
