"""What the document viewer shows: selectors behind its views (the views stay thin)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.utils.safestring import SafeString

from apps.knowledge.extract import MIME_MARKDOWN
from apps.knowledge.mediakind import VIDEO_MIME_TYPES
from apps.knowledge.models import Chunk, Document
from apps.knowledge.pdfpages import PageLayout, page_layout, render_page
from apps.knowledge.sandbox import run_isolated
from apps.knowledge.viewer import PassageSpan, render_content

TEXT, PAGE = "text", "page"


@dataclass(frozen=True)
class ViewerState:
    """Which passage is cited, which view (PDF page or text) and which page is shown."""

    cited: Chunk | None
    view: str
    page: int


def positive_int(value: str | None) -> int | None:
    """A query parameter as a positive number, None for anything else (never an error)."""
    if value is None or not value.isdigit() or len(value) > 9:
        return None
    number = int(value)
    return number if number > 0 else None


def has_page_view(document: Document) -> bool:
    return bool(document.is_pdf and document.file)


def viewer_state(
    document: Document,
    chunks: list[Chunk],
    *,
    passage: str | None,
    view: str | None,
    page: str | None,
) -> ViewerState:
    cited_id = positive_int(passage)
    cited = next((chunk for chunk in chunks if chunk.pk == cited_id), None)
    chosen = PAGE if has_page_view(document) and view != TEXT else TEXT
    page_number = positive_int(page) or (cited.page if cited and cited.page else 1)
    return ViewerState(cited=cited, view=chosen, page=page_number)


def document_text_html(document: Document, chunks: list[Chunk]) -> SafeString | None:
    """The stored text with every passage anchored; None for a document indexed before the
    text was stored (the view then lists its passages)."""
    if not document.content:
        return None
    return render_content(
        document.content,
        passages=[PassageSpan(chunk.pk, chunk.char_start, chunk.char_end) for chunk in chunks],
        pages=document.content_pages,
        page_kind=document.page_kind,
        markdown=document.mime_type == MIME_MARKDOWN,
        page_links=has_page_view(document),
    )


def _file_bytes(document: Document) -> bytes:
    with document.file.open("rb") as handle:
        return bytes(handle.read())


def pdf_page_layout(document: Document, *, page: int, passage: str) -> PageLayout:
    """Page size and count and the cited passage's boxes, read in the isolated child."""
    return run_isolated(
        partial(page_layout, _file_bytes(document), page, passage),
        timeout=settings.VIEWER_RENDER_TIMEOUT_SECONDS,
        memory_mb=settings.EXTRACT_MEMORY_MB,
        doing="Reading this page",
    )


def pdf_page_png(document: Document, *, page: int) -> bytes:
    return run_isolated(
        partial(render_page, _file_bytes(document), page),
        timeout=settings.VIEWER_RENDER_TIMEOUT_SECONDS,
        memory_mb=settings.EXTRACT_MEMORY_MB,
        doing="Drawing this page",
    )


@dataclass(frozen=True)
class TranscriptLine:
    """One segment of a recording's transcript in the viewer."""

    start_seconds: float
    end_seconds: float
    text: str
    anchors: list[int]  # the passages (chunk ids) that begin with this segment
    cited: bool  # within the cited passage


def transcript_lines(
    document: Document, chunks: list[Chunk], cited: Chunk | None
) -> list[TranscriptLine]:
    """The transcript segment by segment, each with its seconds, the passages it starts,
    and whether the cited passage holds it; [] for a document without times."""
    lines = []
    first_chunk: dict[int, list[int]] = {}
    spans = [(int(s), int(e), float(a), float(b)) for s, e, a, b in document.content_times]
    ends = [end for _, end, _, _ in spans]
    for chunk in chunks:  # the first segment that ends after the passage's start
        index = bisect.bisect_right(ends, chunk.char_start)
        if index < len(spans):
            first_chunk.setdefault(index, []).append(chunk.pk)
    for index, (start, end, start_seconds, end_seconds) in enumerate(spans):
        inside = cited is not None and start < cited.char_end and end > cited.char_start
        lines.append(
            TranscriptLine(
                start_seconds=start_seconds,
                end_seconds=end_seconds,
                text=document.content[start:end],
                anchors=first_chunk.get(index, []),
                cited=inside,
            )
        )
    return lines


def media_element(document: Document) -> str:
    """ "video" for a recording with pictures (its type says so), else "audio"."""
    return "video" if document.mime_type in VIDEO_MIME_TYPES else "audio"
