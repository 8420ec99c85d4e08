"""One sync of a source: claim it, crawl (or re-check its one page), apply each page, and
release it with what changed and the next scheduled run.

The crawl is breadth-first from the start URL (or the pages a sitemap lists), within the
scope, the depth and page limits and robots.txt; then every page the source already has
and that the crawl did not reach is checked too, so a page only goes when it is gone
(404/410 on two syncs in a row), out of scope, disallowed, or over the page limit.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

from django.db import InterfaceError, OperationalError
from django.utils import timezone

from apps.knowledge.errors import ExtractionError
from apps.knowledge.extract import MIME_HTML
from apps.knowledge.fetch import Fetched, PageStatusError, RedirectNotFollowed
from apps.sources import pages
from apps.sources.fetching import PoliteFetcher, Robots
from apps.sources.models import ClaimMode, SitePage, SiteSource
from apps.sources.report import SyncReport
from apps.sources.scheduling import ensure_sweep, schedule_next, sync_lease
from apps.sources.scope import in_scope, looks_like_sitemap, normalise_url, page_links
from apps.sources.sitemaps import sitemap_page_urls

logger = logging.getLogger(__name__)

GONE = (404, 410)


@dataclass
class Crawl:
    source: SiteSource
    token: str
    fetcher: PoliteFetcher
    robots: Robots
    known: dict[str, SitePage]
    report: SyncReport = field(default_factory=SyncReport)
    seen: set[str] = field(default_factory=set)
    queue: deque[tuple[str, int]] = field(default_factory=deque)
    kept: int = 0

    @property
    def start(self) -> str:
        return normalise_url(self.source.start_url) or self.source.start_url

    @property
    def is_site(self) -> bool:
        return self.source.kind == SiteSource.Kind.SITE

    def follows(self, target: str) -> bool:
        """Redirects a site's pages may take: within its scope (a single page: anywhere the
        address checks allow, as when it was first added)."""
        return not self.is_site or in_scope(normalise_url(target) or target, self.source.scope)


def run_sync(*, source_id: int, mode: str) -> SyncReport:
    """Sync one source if it may run now (``mode``: see ``SiteSourceQuerySet.claim``)."""
    claim_mode: ClaimMode = (
        "queued" if mode == "queued" else "now" if mode == "now" else "scheduled"
    )
    stale = timezone.now() - sync_lease()
    token = SiteSource.objects.claim(source_id=source_id, stale=stale, mode=claim_mode)
    if token is None:
        busy = SiteSource.objects.filter(pk=source_id, state=SiteSource.State.SYNCING).exists()
        return SyncReport(outcome="busy" if busy else "skipped")
    source = SiteSource.objects.select_related("knowledge_base").get(pk=source_id)
    fetcher = PoliteFetcher.from_settings()
    known = {p.url: p for p in source.pages.select_related("document")}
    crawl = Crawl(source, token, fetcher, Robots(fetcher), known)
    try:
        crawl.report.outcome = "cancelled" if walk(crawl) else "done"
    except (OperationalError, InterfaceError):
        raise  # the database went away: the lease runs out and the sweep takes it from there
    except Exception as exc:
        logger.exception("sync of source %s failed", source_id)
        crawl.report.outcome = "failed"
        crawl.report.note(f"Internal error during the sync ({type(exc).__name__}).")
    finish(crawl)
    return crawl.report


def walk(crawl: Crawl) -> bool:
    """Visit every page in order; True if the sync was cancelled (or lost its claim)."""
    for url, page in list(crawl.known.items()):
        if not in_scope(url, crawl.source.scope):
            pages.remove_page(page)
            crawl.report.removed += 1
            del crawl.known[url]
    crawl.queue.append((crawl.start, 0))
    leftovers = deque(crawl.known)
    while crawl.queue or leftovers:
        if crawl.queue:
            url, depth = crawl.queue.popleft()
        else:
            url, depth = leftovers.popleft(), crawl.source.max_depth
        if url in crawl.seen:
            continue
        if not SiteSource.objects.heartbeat(source_id=crawl.source.pk, token=crawl.token):
            return True
        visit(crawl, url, depth)
    crawl.report.problems.extend(crawl.robots.problems.values())
    return False


def visit(crawl: Crawl, url: str, depth: int) -> None:
    crawl.seen.add(url)
    page = crawl.known.get(url)
    if not in_scope(url, crawl.source.scope):
        crawl.report.note(f"{url} is out of the scope {crawl.source.scope}; not fetched.")
        return
    if crawl.is_site and not crawl.robots.allowed(url):
        crawl.report.disallowed += 1
        if page is not None:
            pages.remove_page(page)
            crawl.report.removed += 1
        return
    if crawl.kept >= crawl.source.max_pages:
        crawl.report.over_limit += 1
        if page is not None:
            pages.remove_page(page)
            crawl.report.removed += 1
        return
    fetched = fetch(crawl, url, page)
    if fetched is None or not follow_redirect(crawl, url, page, fetched):
        return
    if url == crawl.start and crawl.is_site and page is None and looks_like_sitemap(fetched.data):
        expand_sitemap(crawl, fetched)
        return
    try:
        applied = pages.apply_fetched(source=crawl.source, url=url, page=page, fetched=fetched)
    except ExtractionError as exc:
        failed(crawl, url, page, str(exc))
        return
    crawl.kept += 1
    setattr(crawl.report, applied.change, getattr(crawl.report, applied.change) + 1)
    if crawl.is_site and applied.mime_type == MIME_HTML and depth < crawl.source.max_depth:
        for link in page_links(applied.body, fetched.url):
            if link not in crawl.seen and in_scope(link, crawl.source.scope):
                crawl.queue.append((link, depth + 1))


def fetch(crawl: Crawl, url: str, page: SitePage | None) -> Fetched | None:
    """The page, conditionally when we hold a copy; None after recording a failure."""
    try:
        fetched = crawl.fetcher.get(
            url,
            etag=page.etag if page else "",
            last_modified=page.last_modified if page else "",
            follow=crawl.follows,
        )
    except RedirectNotFollowed as exc:
        left_scope(crawl, url, page, exc.location)
        return None
    except PageStatusError as exc:
        if exc.status in GONE and page is not None:
            gone(crawl, page, str(exc))
        else:
            failed(crawl, url, page, str(exc))
        return None
    except ExtractionError as exc:
        failed(crawl, url, page, str(exc))
        return None
    if fetched.not_modified and page is None:
        failed(crawl, url, page, f"{url} answered 304 Not Modified to a plain request.")
        return None
    return fetched


def follow_redirect(crawl: Crawl, url: str, page: SitePage | None, fetched: Fetched) -> bool:
    """A page that redirected: kept under the URL it was linked by, unless it landed out of
    scope (then it is not a page of this source) or on a page this sync already has."""
    final = normalise_url(fetched.url) or fetched.url
    if final == url:
        return True
    if final in crawl.seen or (final in crawl.known and final != url):
        return False
    crawl.seen.add(final)
    return True


def left_scope(crawl: Crawl, url: str, page: SitePage | None, location: str) -> None:
    """It redirects out of scope: not followed, and not (or no longer) a page of ours."""
    crawl.report.note(f"{url} redirects out of scope, to {location}; not followed.")
    if page is not None:
        pages.remove_page(page)
        crawl.report.removed += 1


def expand_sitemap(crawl: Crawl, fetched: Fetched) -> None:
    """The start URL is a sitemap: its pages are the crawl (their links are not followed)."""
    urls, problems = sitemap_page_urls(fetched, crawl.fetcher)
    crawl.report.problems.extend(problems)
    for url in urls:
        if in_scope(url, crawl.source.scope):
            crawl.queue.append((url, crawl.source.max_depth))
        else:
            crawl.report.note(f"The sitemap lists {url}, which is out of scope.")


def gone(crawl: Crawl, page: SitePage, reason: str) -> None:
    """A page of ours answered 404/410: removed the second sync in a row, kept the first."""
    if pages.record_gone(page, reason):
        crawl.report.removed += 1
        return
    crawl.kept += 1
    crawl.report.failed += 1
    crawl.report.note(page.error)


def failed(crawl: Crawl, url: str, page: SitePage | None, reason: str) -> None:
    """This page failed (the rest of the sync goes on); a known page keeps its document."""
    crawl.report.failed += 1
    crawl.report.note(reason)
    if page is not None:
        crawl.kept += 1
        pages.record_error(page, reason)


def finish(crawl: Crawl) -> None:
    """Release the claim with the counts, and schedule the next sync."""
    now = timezone.now()
    source, report = crawl.source, crawl.report
    source.next_sync_at = source.schedule_after(now)
    released = SiteSource.objects.filter(pk=source.pk, claim_token=crawl.token).update(
        state=SiteSource.State.IDLE,
        claim_token="",
        cancel_requested=False,
        heartbeat_at=None,
        last_finished_at=now,
        last_outcome=report.outcome,
        last_error=report.error_text(),
        added_count=report.added,
        updated_count=report.updated,
        unchanged_count=report.unchanged,
        removed_count=report.removed,
        failed_count=report.failed,
        next_sync_at=source.next_sync_at,
    )
    if released:
        schedule_next(source)
    ensure_sweep()
