"""Where a passage lives: its link in the document viewer and the words that place it."""

from __future__ import annotations

import math
from typing import Any

from django.urls import reverse

from apps.knowledge.mediakind import clock


def passage_path(document_id: int, chunk_id: int) -> str:
    """The viewer opened at one passage: ``?passage=`` says what to highlight (and, for a
    PDF, which page to show); the fragment scrolls the text view to it without script."""
    path = reverse("knowledge:document", args=[document_id])
    return f"{path}?passage={chunk_id}#chunk-{chunk_id}"


def location_label(
    *,
    section: str = "",
    page: int | None = None,
    page_kind: str = "page",
    start_seconds: float | None = None,
) -> str:
    """ "Travel › Hotels · page 3": the heading path and the page or slide, what is known;
    "at 12:34" for a passage of a recording."""
    parts = [section] if section else []
    if page:
        parts.append(f"{page_kind or 'page'} {page}")
    if start_seconds is not None:
        parts.append(f"at {clock(start_seconds)}")
    return " · ".join(parts)


def seconds_of(value: Any) -> float | None:
    """A stored time (a number in JSON, or nothing) as seconds from the start, never before
    it; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return max(0.0, float(value))
