"""What the document viewer shows: selectors behind its views (the views stay thin)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.utils.safestring import SafeString

from apps.knowledge.extract import MIME_MARKDOWN
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
