"""The site-sources panel of a knowledge base's manage page: two queries, however many
sources and pages it has (the sources with their page counts, the single pages)."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Count

from apps.knowledge.models import KnowledgeBase
from apps.sources.forms import SiteSourceForm
from apps.sources.models import SiteSource

register = template.Library()


@register.inclusion_tag("sources/_sources.html", takes_context=True)
def site_sources_panel(context: dict[str, Any], knowledge_base: KnowledgeBase) -> dict[str, Any]:
    sources = knowledge_base.site_sources.all()
    return {
        "csrf_token": context.get("csrf_token"),
        "knowledge_base": knowledge_base,
        "sources": sources.filter(kind=SiteSource.Kind.SITE).annotate(page_count=Count("pages")),
        "single_pages": sources.filter(kind=SiteSource.Kind.PAGE).count(),
        "form": SiteSourceForm(),
    }
