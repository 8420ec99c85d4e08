from __future__ import annotations

from typing import Any

from django import template

from apps.knowledge.links import location_label, passage_path, seconds_of
from apps.knowledge.mediakind import clock as clock_text

register = template.Library()


@register.simple_tag
def passage_url(document_id: Any, chunk_id: Any) -> str:
    """``{% passage_url s.document_id s.chunk_id %}``: the viewer at that passage."""
    return passage_path(int(document_id), int(chunk_id or 0))


@register.filter
def location(item: Any, page_kind: str = "") -> str:
    """A citation, retrieved passage, search hit or chunk's place: heading path (the heading
    for what was stored before paths were), page or slide, and when a recording says it.
    ``page_kind`` for a chunk."""
    return location_label(
        section=str(_field(item, "section") or _field(item, "heading") or ""),
        page=_field(item, "page"),
        page_kind=page_kind or str(_field(item, "page_kind") or "page"),
        start_seconds=seconds_of(_field(item, "start_seconds")),
    )


@register.filter
def clock(seconds: Any) -> str:
    """``{{ seconds|clock }}``: a recording's time as 12:34 (1:02:03 from an hour on)."""
    value = seconds_of(seconds)
    return clock_text(value) if value is not None else ""


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)
