"""Small helpers shared by the source tests."""

from __future__ import annotations

from apps.knowledge.models import KnowledgeBase
from apps.sources.models import SiteSource
from apps.sources.report import SyncReport
from apps.sources.services import SiteSettings, add_site_source
from apps.sources.sync import run_sync


def add_site(
    knowledge_base: KnowledgeBase,
    url: str,
    *,
    max_pages: int = 50,
    max_depth: int = 1,
    every_hours: int = 24,
    scope: str = "",
) -> SiteSource:
    return add_site_source(
        knowledge_base=knowledge_base,
        start_url=url,
        options=SiteSettings(
            max_pages=max_pages, max_depth=max_depth, every_hours=every_hours, scope=scope
        ),
    )


def sync(source: SiteSource) -> SyncReport:
    report = run_sync(source_id=source.pk, mode="now")
    source.refresh_from_db()
    return report


def page_urls(source: SiteSource) -> set[str]:
    return set(source.pages.values_list("url", flat=True))
