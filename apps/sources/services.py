"""Adding and removing site sources (the views and the commands call these)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from apps.knowledge.errors import ExtractionError
from apps.knowledge.fetch import FetchRefused, parse_target, resolve_public
from apps.knowledge.models import KnowledgeBase
from apps.knowledge.uploads import delete_document
from apps.sources.models import SiteSource
from apps.sources.scheduling import enqueue_sync, ensure_sweep
from apps.sources.scope import default_scope, in_scope, normalise_url


class SourceRejected(ValueError):
    """The source cannot be added; the message says why, in a sentence."""


@dataclass(frozen=True)
class SiteSettings:
    max_pages: int
    max_depth: int
    every_hours: int
    scope: str = ""  # a URL prefix; the start URL's directory when empty

    @classmethod
    def defaults(cls) -> SiteSettings:
        return cls(
            max_pages=settings.SOURCES_DEFAULT_MAX_PAGES,
            max_depth=settings.SOURCES_DEFAULT_MAX_DEPTH,
            every_hours=settings.SOURCES_DEFAULT_EVERY_HOURS,
        )


def checked_url(url: str, *, what: str = "start URL") -> str:
    """An http(s) URL in its normal form, or ``SourceRejected`` with the reason."""
    try:
        parse_target(url)
    except ExtractionError as exc:
        raise SourceRejected(str(exc)) from exc
    normal = normalise_url(url)
    if normal is None:
        raise SourceRejected(f"The {what} is not an http or https URL.")
    return normal


def refuse_private_host(url: str) -> None:
    """``SourceRejected`` now when the host resolves to a private or reserved address (every
    request of every sync checks again). A host that does not resolve yet is accepted: the
    sync reports it, and DNS may answer later."""
    allowed = frozenset(settings.URL_FETCH_ALLOWED_PRIVATE_HOSTS)
    try:
        resolve_public(parse_target(url), allowed_private=allowed)
    except FetchRefused as exc:
        raise SourceRejected(str(exc)) from exc
    except ExtractionError:
        return


def add_site_source(
    *, knowledge_base: KnowledgeBase, start_url: str, options: SiteSettings
) -> SiteSource:
    """A new site source (a start page or a sitemap.xml); its first sync is queued now.
    Addresses are checked again on every request of every sync (private ones refused)."""
    start = checked_url(start_url)
    scope = checked_url(options.scope, what="scope") if options.scope else default_scope(start)
    if not in_scope(start, scope):
        raise SourceRejected(f"The scope {scope} does not include the start URL {start}.")
    refuse_private_host(start)
    if not 1 <= options.max_pages <= settings.SOURCES_MAX_PAGES_LIMIT:
        raise SourceRejected(
            f"The page limit must be between 1 and {settings.SOURCES_MAX_PAGES_LIMIT:,}."
        )
    if SiteSource.objects.filter(
        knowledge_base=knowledge_base, kind=SiteSource.Kind.SITE, start_url=start
    ).exists():
        raise SourceRejected(f"{start} is already a source of {knowledge_base.name}.")
    with transaction.atomic():
        source = SiteSource.objects.create(
            knowledge_base=knowledge_base,
            kind=SiteSource.Kind.SITE,
            start_url=start,
            scope=scope,
            max_pages=options.max_pages,
            max_depth=options.max_depth,
            every_hours=options.every_hours,
            state=SiteSource.State.QUEUED,
        )
        enqueue_sync(source_id=source.pk, mode="queued")
        ensure_sweep()
    return source


def delete_source(*, source: SiteSource) -> int:
    """The source and every document it made (chunks and stored copies too)."""
    documents = [page.document for page in source.pages.select_related("document")]
    with transaction.atomic():
        for document in documents:
            delete_document(document=document)
        source.delete()
    return len(documents)
