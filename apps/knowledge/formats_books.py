"""Documents read from start to end: OpenDocument text (odfpy), RTF (striprtf), EPUB (ebooklib).

ODT headings become Markdown headings, lists ``- item`` lines, tables ``a | b | c`` rows.
RTF loses its control words (its structure is not kept: striprtf gives plain text). An EPUB's
chapters come in spine order, each a section under its first heading or, when it has none,
its table-of-contents title; the XHTML goes through the same HTML extractor as web pages.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from apps.knowledge.errors import ExtractionError
from apps.knowledge.extracted import Extracted, normalise_text
from apps.knowledge.formats_odf import (
    TABLE_NS,
    TEXT_NS,
    children,
    load_opendocument,
    odf_text,
    paragraph_texts,
)
from apps.knowledge.office_package import MIME_ODT, MIME_RTF, check_package

if TYPE_CHECKING:
    from apps.knowledge.extract import ExtractOptions

_DC_TITLE = ("http://purl.org/dc/elements/1.1/", "title")
# Generated indexes repeat the headings (a table of contents) or list words: not content.
_SKIPPED_TEXT = (
    "table-of-content",
    "alphabetical-index",
    "illustration-index",
    "object-index",
    "user-index",
    "bibliography",
    "sequence-decls",
    "tracked-changes",
)


def extract_book(data: bytes, mime_type: str, options: ExtractOptions) -> Extracted:
    if mime_type == MIME_RTF:
        return extract_rtf(data)
    if mime_type == MIME_ODT:
        return extract_odt(data, options)
    return extract_epub(data, options)


# --- OpenDocument text ---


def extract_odt(data: bytes, options: ExtractOptions) -> Extracted:
    check_package(data, max_expanded_bytes=options.max_expanded_bytes, what="text document")
    document = load_opendocument(data, what="text document")
    try:
        blocks = list(odt_blocks(document.text))
    except Exception as exc:  # a damaged tree odfpy accepted
        raise ExtractionError(f"The text document could not be read: {exc}") from exc
    title = ""
    for child in document.meta.childNodes:
        if child.nodeType == 1 and child.qname == _DC_TITLE:
            title = " ".join(odf_text(child).split())
    return Extracted(text=normalise_text("\n\n".join(blocks)), title=title)


def odt_blocks(element: Any, depth: int = 0) -> Iterator[str]:
    """Headings, paragraphs, lists and tables in document order."""
    for child in element.childNodes:
        if child.nodeType != 1:
            continue
        namespace, name = child.qname
        if namespace == TEXT_NS and name in _SKIPPED_TEXT:
            continue
        if namespace == TEXT_NS and name == "h":
            level = min(max(int(_outline_level(child)), 1), 6)
            text = " ".join(odf_text(child).split())
            if text:
                yield "#" * level + " " + text
        elif namespace == TEXT_NS and name == "p":
            text = " ".join(odf_text(child).split())
            if text:
                yield text
        elif namespace == TEXT_NS and name == "list":
            lines = list(_list_lines(child, depth))
            if lines:
                yield "\n".join(lines)
        elif namespace == TABLE_NS and name == "table":
            rows = [" | ".join(cells) for cells in _table_cells(child) if any(cells)]
            if rows:
                yield "\n".join(rows)
        else:  # sections, frames, index bodies: their content in place
            yield from odt_blocks(child, depth)


def _outline_level(heading: Any) -> str:
    level = str(heading.attributes.get((TEXT_NS, "outline-level"), "1"))
    return level if level.isdigit() else "1"


def _list_lines(element: Any, depth: int) -> Iterator[str]:
    for item in children(element, TEXT_NS, "list-item", "list-header"):
        for child in item.childNodes:
            if child.nodeType != 1:
                continue
            if child.qname == (TEXT_NS, "list"):
                yield from _list_lines(child, depth + 1)
                continue
            texts = [odf_text(child)] if child.qname[1] in ("p", "h") else paragraph_texts(child)
            for text in texts:
                if text.strip():
                    yield "  " * depth + "- " + " ".join(text.split())


def _table_cells(table: Any) -> Iterator[list[str]]:
    rows = children(table, TABLE_NS, "table-row", "table-header-rows", "table-rows")
    for row in rows:
        if row.qname[1] != "table-row":
            yield from _table_cells(row)
            continue
        cells = children(row, TABLE_NS, "table-cell")
        yield [" ".join(paragraph_texts(cell)) for cell in cells]


# --- RTF ---


def extract_rtf(data: bytes) -> Extracted:
    """The text of an RTF file; each RTF paragraph a paragraph of the text."""
    from striprtf.striprtf import rtf_to_text

    try:
        # RTF is 7-bit with escapes; the code page (\\ansicpgN) decides what they mean.
        text = rtf_to_text(data.decode("cp1252", errors="replace"), errors="replace")  # type: ignore[no-untyped-call]
    except Exception as exc:  # striprtf raises what its regular expressions meet
        raise ExtractionError(f"The RTF file could not be read: {exc}") from exc
    paragraphs = [" ".join(line.split()) for line in normalise_text(text).split("\n")]
    return Extracted(text="\n\n".join(p for p in paragraphs if p))


# --- EPUB ---


def extract_epub(data: bytes, options: ExtractOptions) -> Extracted:
    """Chapters in spine order, each a section; the book's title as title."""
    from ebooklib import epub

    check_package(data, max_expanded_bytes=options.max_expanded_bytes, what="e-book")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = epub.read_epub(io.BytesIO(data), options={"ignore_ncx": False})
        chapters = list(_chapters(book, options.office_max_parts))
    except ExtractionError:
        raise
    except Exception as exc:  # ebooklib raises EpubException, KeyError, lxml errors…
        raise ExtractionError(f"The e-book could not be read: {exc}") from exc
    if not chapters:
        raise ExtractionError("The e-book has no chapters with text.")
    titles = book.get_metadata("DC", "title")
    title = " ".join(str(titles[0][0]).split()) if titles else ""
    return Extracted(text=normalise_text("\n\n".join(chapters)), title=title)


def _chapters(book: Any, limit: int) -> Iterator[str]:
    from ebooklib import ITEM_DOCUMENT

    from apps.knowledge.extract import extract_html  # imported here: extract imports us

    toc = _toc_titles(book.toc)
    count = 0
    for idref, *_ in book.spine:
        item = book.get_item_with_id(idref)
        if item is None or item.get_type() != ITEM_DOCUMENT or _is_nav(item):
            continue
        html = extract_html(item.get_content().decode("utf-8", errors="replace"))
        text = html.text.strip()
        if not text:
            continue
        if count >= limit:
            yield f"[Only the first {limit:,} chapters were indexed (OFFICE_MAX_PARTS).]"
            return
        count += 1
        if not text.startswith("#"):
            heading = toc.get(item.get_name()) or html.title
            text = f"# {' '.join(heading.split())}\n\n{text}" if heading.strip() else text
        yield text


def _is_nav(item: Any) -> bool:
    return "nav" in (getattr(item, "properties", None) or [])


def _toc_titles(entries: Any) -> dict[str, str]:
    """File name → its first title in the table of contents (nested sections included)."""
    titles: dict[str, str] = {}
    for entry in entries:
        if isinstance(entry, tuple | list):
            section, nested = entry[0], entry[1] if len(entry) > 1 else []
            for name, title in [*_toc_entry(section), *_toc_titles(nested).items()]:
                titles.setdefault(name, title)
        else:
            for name, title in _toc_entry(entry):
                titles.setdefault(name, title)
    return titles


def _toc_entry(entry: Any) -> list[tuple[str, str]]:
    href = str(getattr(entry, "href", "") or getattr(entry, "file_name", "") or "")
    title = str(getattr(entry, "title", "") or "")
    return [(href.split("#")[0], title)] if href and title else []
