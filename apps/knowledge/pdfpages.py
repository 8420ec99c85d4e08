"""PDF pages for the viewer: a page as an image, and where a passage's words are on it.

These functions run in the extraction child (``sandbox.run_isolated``), like extraction: a
hostile PDF costs that process, never a web worker. They import no Django.

A passage's text came from pypdf's text layer, or from OCR; pdfium's characters on the page
differ in spacing, ligatures and line breaks. Both sides are reduced to their letters and
digits (NFKC, case-folded) and the passage is looked up in the page's reduced text, whole,
else by its first and last words; each reduced character remembers its pdfium index, so a
match maps back to character ranges whose rectangles pdfium gives.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass

from apps.knowledge.errors import ExtractionError

# Rendered width in pixels; a page of any size is scaled to it (the browser scales down).
PAGE_IMAGE_WIDTH = 1100
MAX_PAGE_PIXELS = 1100 * 2200  # a page four times taller than wide is cut by the scale
ANCHOR_CHARS = 48  # reduced characters of each end tried when the whole passage is not found


@dataclass(frozen=True)
class Box:
    """A rectangle on the page as fractions of its width and height, from the top left."""

    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class PageLayout:
    page_count: int
    page: int
    width: float  # points
    height: float
    boxes: tuple[Box, ...]  # the passage's lines; empty when it was not found on the page


def _open(data: bytes):  # type: ignore[no-untyped-def]
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise ExtractionError(f"The PDF could not be opened: {exc}") from exc


def _page_number(document, page: int) -> int:  # type: ignore[no-untyped-def]
    count = len(document)
    if not 1 <= page <= count:
        raise ExtractionError(f"The PDF has no page {page}; it has {count}.")
    return count


def render_page(data: bytes, page: int) -> bytes:
    """Page ``page`` (from 1) as a PNG ``PAGE_IMAGE_WIDTH`` pixels wide."""
    document = _open(data)
    try:
        _page_number(document, page)
        pdf_page = document[page - 1]
        width, height = pdf_page.get_size()
        scale = PAGE_IMAGE_WIDTH / max(width, 1.0)
        scale = min(scale, (MAX_PAGE_PIXELS / max(width * height, 1.0)) ** 0.5)
        image = pdf_page.render(scale=scale).to_pil()
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=False)
        return out.getvalue()
    finally:
        document.close()


def page_layout(data: bytes, page: int, passage: str) -> PageLayout:
    """The page's size and count, and the boxes of ``passage``'s lines on it."""
    document = _open(data)
    try:
        count = _page_number(document, page)
        pdf_page = document[page - 1]
        width, height = pdf_page.get_size()
        boxes: tuple[Box, ...] = ()
        if passage.strip():
            boxes = tuple(_passage_boxes(pdf_page, passage, width, height))
        return PageLayout(count, page, width, height, boxes)
    finally:
        document.close()


def reduce_text(text: str) -> str:
    """Letters and digits only, NFKC and case-folded: what both sides are compared as."""
    return "".join(c for c in unicodedata.normalize("NFKC", text).casefold() if c.isalnum())


def _page_characters(textpage) -> tuple[str, list[int]]:  # type: ignore[no-untyped-def]
    """The page's reduced text, and for each of its characters the pdfium char index."""
    import pypdfium2.raw as pdfium_c

    reduced: list[str] = []
    indexes: list[int] = []
    for index in range(textpage.count_chars()):
        code = pdfium_c.FPDFText_GetUnicode(textpage.raw, index)
        if not code or 0xD800 <= code <= 0xDFFF:
            continue
        for char in reduce_text(chr(code)):
            reduced.append(char)
            indexes.append(index)
    return "".join(reduced), indexes


def locate(page_text: str, passage: str) -> tuple[int, int] | None:
    """The span of ``passage`` (reduced) in ``page_text`` (reduced): whole, else from its
    first ``ANCHOR_CHARS`` to its last; None when neither end is on the page."""
    if not passage:
        return None
    found = page_text.find(passage)
    if found >= 0:
        return found, found + len(passage)
    head, tail = passage[:ANCHOR_CHARS], passage[-ANCHOR_CHARS:]
    start = page_text.find(head)
    if start < 0:
        return None
    end = page_text.find(tail, start)
    if end < 0:
        return start, start + len(head)
    return start, end + len(tail)


def _passage_boxes(pdf_page, passage: str, width: float, height: float) -> list[Box]:  # type: ignore[no-untyped-def]
    textpage = pdf_page.get_textpage()
    try:
        page_text, indexes = _page_characters(textpage)
        span = locate(page_text, reduce_text(passage))
        if span is None:
            return []
        first, last = indexes[span[0]], indexes[span[1] - 1]
        boxes = []
        for number in range(textpage.count_rects(first, last - first + 1)):
            left, bottom, right, top = textpage.get_rect(number)
            boxes.append(
                Box(
                    left=max(0.0, left / width),
                    top=max(0.0, (height - top) / height),
                    width=max(0.0, (right - left) / width),
                    height=max(0.0, (top - bottom) / height),
                )
            )
        return boxes
    finally:
        textpage.close()
