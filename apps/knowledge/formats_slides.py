"""Presentations (pptx through python-pptx, odp through odfpy): each slide a page.

A slide's text is its title as a heading (``# Title``, or ``# Slide 3`` when it has none,
so that a slide never takes the previous slide's title), then the text of its shapes in
their order, tables row by row (``a | b | c``), and the speaker notes (``Notes: …``). The
page spans are numbered by slide and ``page_kind`` is ``"slide"``: citations say "slide 3".
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from apps.knowledge.errors import ExtractionError
from apps.knowledge.extracted import Extracted, join_pages, normalise_text
from apps.knowledge.formats_odf import (
    DRAW_NS,
    PRESENTATION_NS,
    TABLE_NS,
    attribute,
    children,
    load_opendocument,
    odf_text,
    paragraph_texts,
)
from apps.knowledge.office_package import MIME_ODP, check_package

if TYPE_CHECKING:
    from apps.knowledge.extract import ExtractOptions


@dataclass(frozen=True)
class Slide:
    title: str
    blocks: list[str]
    notes: str


def extract_presentation(data: bytes, mime_type: str, options: ExtractOptions) -> Extracted:
    """Every slide a page of the text; at most ``options.office_max_parts`` slides."""
    check_package(data, max_expanded_bytes=options.max_expanded_bytes, what="presentation")
    limit = options.office_max_parts
    try:
        if mime_type == MIME_ODP:
            title, slides = _odp_slides(data, limit + 1)
        else:
            title, slides = _pptx_slides(data, limit + 1)
    except ExtractionError:
        raise
    except Exception as exc:  # python-pptx and odfpy raise many kinds for broken parts
        raise ExtractionError(f"The presentation could not be read: {exc}") from exc
    if not any(slide.blocks or slide.notes or slide.title for slide in slides):
        raise ExtractionError("The presentation has no text on its slides.")
    texts = [slide_text(number, slide) for number, slide in enumerate(slides[:limit], start=1)]
    if len(slides) > limit:
        # The note goes inside the last page: text outside the page spans is not chunked.
        texts[-1] += f"\n\n[Only the first {limit:,} slides were indexed (OFFICE_MAX_PARTS).]"
    return join_pages(texts, title=title, page_kind="slide")


def slide_text(number: int, slide: Slide) -> str:
    heading = " ".join(slide.title.split()) or f"Slide {number}"
    parts = [f"# {heading}", *slide.blocks]
    if slide.notes:
        parts.append(f"Notes: {slide.notes}")
    return normalise_text("\n\n".join(part for part in parts if part.strip()))


# --- PowerPoint ---


def _pptx_slides(data: bytes, limit: int) -> tuple[str, list[Slide]]:
    from pptx import Presentation

    presentation = Presentation(io.BytesIO(data))
    slides: list[Slide] = []
    for slide in presentation.slides:
        if len(slides) >= limit:
            break
        title_shape = slide.shapes.title
        title = title_shape.text_frame.text if title_shape is not None else ""
        blocks = [b for b in _pptx_blocks(slide.shapes, title_shape) if b.strip()]
        slides.append(Slide(title, blocks, _pptx_notes(slide)))
    return str(presentation.core_properties.title or ""), slides


def _pptx_blocks(shapes: Any, title_shape: Any) -> Iterator[str]:
    for shape in shapes:
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        if getattr(shape, "shapes", None) is not None:  # a group: its shapes in order
            yield from _pptx_blocks(shape.shapes, None)
        elif getattr(shape, "has_table", False) and shape.has_table:
            yield "\n".join(_table_rows(shape.table.rows))
        elif shape.has_text_frame:
            lines = [" ".join(p.text.split()) for p in shape.text_frame.paragraphs]
            yield "\n".join(line for line in lines if line)


def _table_rows(rows: Any) -> Iterator[str]:
    for row in rows:
        cells = [" ".join(cell.text.split()) for cell in row.cells]
        if any(cells):
            yield " | ".join(cells)


def _pptx_notes(slide: Any) -> str:
    if not slide.has_notes_slide:
        return ""
    frame = slide.notes_slide.notes_text_frame
    return " ".join(frame.text.split()) if frame is not None else ""


# --- OpenDocument presentations ---


def _odp_slides(data: bytes, limit: int) -> tuple[str, list[Slide]]:
    document = load_opendocument(data, what="presentation")
    slides: list[Slide] = []
    for page in children(document.presentation, DRAW_NS, "page"):
        if len(slides) >= limit:
            break
        titles: list[str] = []
        blocks = [b for b in _odp_blocks(page, titles) if b.strip()]
        notes = [" ".join(paragraph_texts(n)) for n in children(page, PRESENTATION_NS, "notes")]
        slides.append(Slide(" ".join(titles), blocks, " ".join(notes).strip()))
    return _odp_title(document), slides


def _odp_blocks(element: Any, titles: list[str]) -> Iterator[str]:
    """The text of a slide's shapes; the title frame's text goes to ``titles`` instead."""
    for shape in element.childNodes:
        if shape.nodeType != 1 or shape.qname == (PRESENTATION_NS, "notes"):
            continue
        if shape.qname == (DRAW_NS, "g"):
            yield from _odp_blocks(shape, titles)
            continue
        texts = paragraph_texts(shape)
        if attribute(shape, PRESENTATION_NS, "class") == "title":
            titles.extend(texts)
            continue
        tables = list(_descendants(shape, TABLE_NS, "table"))
        if tables:
            yield "\n".join(row for table in tables for row in _odp_table_rows(table))
        else:
            yield "\n".join(texts)


def _descendants(element: Any, namespace: str, name: str) -> Iterator[Any]:
    for child in element.childNodes:
        if child.nodeType != 1:
            continue
        if child.qname == (namespace, name):
            yield child
        else:
            yield from _descendants(child, namespace, name)


def _odp_table_rows(table: Any) -> Iterator[str]:
    for row in _descendants(table, TABLE_NS, "table-row"):
        cells = [" ".join(paragraph_texts(cell)) for cell in children(row, TABLE_NS, "table-cell")]
        if any(cells):
            yield " | ".join(cells)


def _odp_title(document: Any) -> str:
    dc_title = ("http://purl.org/dc/elements/1.1/", "title")
    for child in document.meta.childNodes:
        if child.nodeType == 1 and child.qname == dc_title:
            return " ".join(odf_text(child).split())
    return ""
