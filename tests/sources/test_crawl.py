"""A crawl of the loopback site: scope, robots.txt, depth and page limits, redirects (one to
a private address, refused), a page too slow to answer, sitemaps; each page a document."""

from __future__ import annotations

import pytest

from apps.knowledge.models import Chunk, Document
from apps.sources.models import SiteSource
from tests.sources.conftest import run_ready_tasks
from tests.sources.site import Page
from tests.sources.world import add_site, page_urls, sync

pytestmark = pytest.mark.django_db


def test_a_crawl_keeps_to_its_scope_robots_txt_and_depth(knowledge_base, site) -> None:
    source = add_site(knowledge_base, f"{site.base}/docs/", max_depth=1)
    report = sync(source)

    assert page_urls(source) == {f"{site.base}/docs/", f"{site.base}/docs/a", f"{site.base}/docs/b"}
    asked = site.paths()
    assert "/docs/private/secret" not in asked  # disallowed by robots.txt
    assert "/blog/news" not in asked  # out of scope
    assert "/docs/deep" not in asked  # two links deep, max depth 1
    assert asked.count("/robots.txt") == 1 and asked.count("/docs/b") == 2  # b, then moved → b
    assert report.disallowed == 1
    assert (source.state, source.last_outcome) == ("idle", "done")
    assert (source.added_count, source.failed_count) == (3, 1)  # the slow page


def test_a_redirect_out_of_scope_is_not_followed_and_a_slow_page_fails_alone(
    knowledge_base, site
) -> None:
    source = add_site(knowledge_base, f"{site.base}/docs/", max_depth=1)
    sync(source)
    assert "/docs/to-metadata" in site.paths() and "/docs/slow" in site.paths()
    assert "redirects out of scope, to http://169.254.169.254/" in source.last_error
    assert "/docs/slow" in source.last_error and "in time" in source.last_error
    assert not Document.objects.filter(source_url__contains="metadata").exists()
    assert source.pages.count() == 3  # the rest of the sync went on


def test_a_link_to_another_host_is_never_fetched(knowledge_base, site) -> None:
    source = add_site(knowledge_base, f"{site.base}/docs/", max_depth=1)
    sync(source)
    assert not any("other-host" in path for path in site.paths())
    assert not Document.objects.filter(source_url__contains="127.0.0.2").exists()


def test_the_page_limit_stops_the_crawl(knowledge_base, site) -> None:
    source = add_site(knowledge_base, f"{site.base}/docs/", max_pages=2, max_depth=3)
    report = sync(source)
    assert source.pages.count() == 2 and report.over_limit > 0
    assert page_urls(source) == {f"{site.base}/docs/", f"{site.base}/docs/a"}


def test_depth_two_reaches_the_deeper_page(knowledge_base, site) -> None:
    source = add_site(knowledge_base, f"{site.base}/docs/", max_depth=2)
    sync(source)
    assert f"{site.base}/docs/deep" in page_urls(source)


def test_a_sitemap_lists_the_pages_in_scope_that_robots_allow(knowledge_base, site) -> None:
    listed = ["/docs/a", "/docs/b", "/blog/news", "/docs/private/secret"]
    site.pages["/docs/sitemap.xml"] = Page(_urlset(site.base, listed), content_type="text/xml")
    source = add_site(knowledge_base, f"{site.base}/docs/sitemap.xml", max_depth=3)
    report = sync(source)
    assert page_urls(source) == {f"{site.base}/docs/a", f"{site.base}/docs/b"}
    assert "/docs/deep" not in site.paths()  # a sitemap's pages are the crawl: no link following
    assert report.disallowed == 1 and "/blog/news" in source.last_error


def test_a_sitemap_index_is_followed_through_our_fetcher_and_private_ones_refused(
    knowledge_base, site
) -> None:
    index = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{site.base}/docs/sitemap-1.xml</loc></sitemap>"
        "<sitemap><loc>http://169.254.169.254/sitemap.xml</loc></sitemap>"
        "</sitemapindex>"
    ).encode()
    site.pages["/docs/sitemap-index.xml"] = Page(index, content_type="application/xml")
    site.pages["/docs/sitemap-1.xml"] = Page(_urlset(site.base, ["/docs/b"]))
    source = add_site(knowledge_base, f"{site.base}/docs/sitemap-index.xml")
    sync(source)
    assert "/docs/sitemap-1.xml" in site.paths()
    assert page_urls(source) == {f"{site.base}/docs/b"}
    assert "Refused" in source.last_error and "169.254.169.254" in source.last_error


def test_a_robots_txt_that_cannot_be_read_fetches_nothing(knowledge_base, site) -> None:
    site.pages["/robots.txt"] = Page(b"down", status=503)
    source = add_site(knowledge_base, f"{site.base}/docs/")
    sync(source)
    assert site.paths() == ["/robots.txt"] and source.pages.count() == 0
    assert "robots.txt" in source.last_error and "503" in source.last_error


def test_a_missing_robots_txt_allows_the_crawl(knowledge_base, site) -> None:
    del site.pages["/robots.txt"]
    source = add_site(knowledge_base, f"{site.base}/docs/", max_depth=1)
    sync(source)
    assert f"{site.base}/docs/private/secret" in page_urls(source)


@pytest.mark.django_db(transaction=True)
def test_each_page_becomes_a_titled_url_document_of_its_main_content(knowledge_base, site) -> None:
    source = add_site(knowledge_base, f"{site.base}/docs/", max_depth=1)
    run_ready_tasks()  # the first sync (queued when the source was added), then the indexing
    source.refresh_from_db()
    assert source.last_outcome == SiteSource.Outcome.DONE
    guide = Document.objects.get(source_url=f"{site.base}/docs/a")
    assert guide.status == Document.Status.READY, guide.error
    assert (guide.title, guide.source_kind) == ("Guide A", Document.SourceKind.URL)
    text = " ".join(Chunk.objects.filter(document=guide).values_list("text", flat=True))
    assert "Travel expenses are reimbursed within fourteen days" in text
    assert "Copyright Example Corp" not in text and "Guide B" not in text  # footer, menu
    assert site.paths().count("/docs/a") == 1  # indexed from the copy the sync stored


def _urlset(base: str, paths: list[str]) -> bytes:
    urls = "".join(f"<url><loc>{base}{path}</loc></url>" for path in paths)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    ).encode()
