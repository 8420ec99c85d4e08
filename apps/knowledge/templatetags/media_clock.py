"""``{{ seconds|clock }}``: a recording's time as 12:34 (1:02:03 from an hour on)."""

from __future__ import annotations

from typing import Any

from django import template

from apps.knowledge.mediakind import clock as clock_text

register = template.Library()


@register.filter
def clock(seconds: Any) -> str:
    try:
        return clock_text(max(0.0, float(seconds)))
    except (TypeError, ValueError):
        return ""
