from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.management import call_command

from tests.sources.site import Page, Site, serve_site

ROBOTS = b"User-agent: *\nDisallow: /docs/private/\n"


def build_docs_site(site: Site) -> None:
    """/docs/ links to two guides, a page robots.txt forbids, a page out of scope, a page on
    another (private) host, a redirect inside the scope and one to the metadata address, a
    page that never answers in time, and a mail link."""
    port = site.port
    site.pages["/robots.txt"] = site.pages.get("/robots.txt") or _text(ROBOTS)
    site.html(
        "/docs/",
        "Docs home",
        "<p>Welcome to the handbook of the expense office.</p>"
        "<ul><li><a href='/docs/a'>A</a></li><li><a href='b#section'>B</a></li>"
        "<li><a href='/docs/private/secret'>Secret</a></li><li><a href='/blog/news'>Blog</a>"
        f"</li><li><a href='http://127.0.0.2:{port}/docs/other-host'>Elsewhere</a></li>"
        "<li><a href='/docs/moved'>Moved</a></li><li><a href='/docs/to-metadata'>Meta</a></li>"
        "<li><a href='/docs/slow'>Slow</a></li><li><a href='mailto:help@example.com'>Mail</a>"
        "</li></ul>",
    )
    site.html(
        "/docs/a",
        "Guide A",
        "<p>Travel expenses are reimbursed within fourteen days of the claim.</p>"
        "<h2>Receipts</h2><p>Keep every receipt of a trip, scanned or photographed, and "
        "attach them to the claim in the expense tool before the end of the month.</p>"
        "<p>Claims without receipts are refused unless a manager confirms the amount in "
        "writing. <a href='/docs/deep'>Deeper rules</a> apply abroad.</p>",
        etag='"a-1"',
    )
    site.html(
        "/docs/b",
        "Guide B",
        "<p>Hotel bookings above two hundred euros need the approval of a manager.</p>",
        last_modified="Wed, 01 Jan 2025 10:00:00 GMT",
    )
    site.html("/docs/deep", "Deep page", "<p>The deep page is two links from the start.</p>")
    site.html("/docs/private/secret", "Secret", "<p>Robots may not read this.</p>")
    site.html("/blog/news", "News", "<p>Out of scope news.</p>")
    site.pages["/docs/moved"] = _redirect("/docs/b")
    site.pages["/docs/to-metadata"] = _redirect("http://169.254.169.254/latest/meta-data/")
    site.html("/docs/slow", "Slow", "<p>Slow.</p>", delay=3.0)


def _text(body: bytes) -> Page:
    return Page(body, content_type="text/plain")


def _redirect(location: str) -> Page:
    return Page(b"", status=302, location=location)


@pytest.fixture
def site(settings) -> Iterator[Site]:
    with serve_site() as served:
        settings.URL_FETCH_ALLOWED_PRIVATE_HOSTS = [f"127.0.0.1:{served.port}"]
        settings.URL_FETCH_TIMEOUT_SECONDS = 1.0
        settings.SOURCES_CRAWL_DELAY_SECONDS = 0.0
        build_docs_site(served)
        yield served


def run_ready_tasks() -> None:
    """What a worker would do now: every task that is due (indexing, queued syncs)."""
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)
