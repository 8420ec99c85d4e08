"""Turn an uploaded file's bytes into plain text with structure.

Structure is carried in the text itself as Markdown heading lines (``# Title``),
plus page spans for PDFs, so that the chunker treats every format alike.
"""

from __future__ import annotations

import codecs
import io
import re
from dataclasses import dataclass, field
from pathlib import PurePath

MIME_PDF = "application/pdf"
MIME_HTML = "text/html"
MIME_MARKDOWN = "text/markdown"
MIME_TEXT = "text/plain"
SUPPORTED_MIME_TYPES = (MIME_PDF, MIME_HTML, MIME_MARKDOWN, MIME_TEXT)

_MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown"}
_HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
_BINARY_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive or Office document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "an executable"),
    (b"\x1f\x8b", "a gzip archive"),
)


class ExtractionError(Exception):
    """The file cannot be turned into text; the message is shown to staff as is."""


@dataclass(frozen=True)
class PageSpan:
    page: int
    start: int
    end: int


@dataclass(frozen=True)
class Extracted:
    text: str
    pages: list[PageSpan] = field(default_factory=list)
    title: str = ""


def detect_mime_type(data: bytes, filename: str) -> str:
    """Decide the type from the content first, the extension second."""
    suffix = PurePath(filename).suffix.lower()
    if data.startswith(b"%PDF-"):
        return MIME_PDF
    for magic, description in _BINARY_MAGIC:
        if data.startswith(magic):
            raise ExtractionError(f"Unsupported file type: the content is {description}.")
    try:
        # An incremental decoder tolerates a multi-byte character cut at the 4 KiB mark.
        head = codecs.getincrementaldecoder("utf-8")().decode(data[:4096], final=False)
    except UnicodeDecodeError as exc:
        raise ExtractionError("Unsupported file type: the content is not UTF-8 text.") from exc
    if "\x00" in head:
        raise ExtractionError("Unsupported file type: the content is binary.")
    lowered = head.lstrip().lower()
    if suffix in _HTML_SUFFIXES or lowered.startswith(("<!doctype html", "<html")):
        return MIME_HTML
    if suffix in _MARKDOWN_SUFFIXES:
        return MIME_MARKDOWN
    return MIME_TEXT


def extract(data: bytes, mime_type: str) -> Extracted:
    if mime_type == MIME_PDF:
        return extract_pdf(data)
    if mime_type == MIME_HTML:
        return extract_html(_decode(data))
    if mime_type in (MIME_MARKDOWN, MIME_TEXT):
        return Extracted(text=_normalise(_decode(data)))
    raise ExtractionError(f"Unsupported file type: {mime_type}.")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExtractionError(f"The file is not valid UTF-8 text (byte {exc.start}).") from exc


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return re.sub(r"[ \t]+\n", "\n", text).strip("\n")


def extract_pdf(data: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractionError("The PDF is encrypted; upload an unprotected copy.")
        parts: list[str] = []
        pages: list[PageSpan] = []
        offset = 0
        for number, page in enumerate(reader.pages, start=1):
            page_text = _normalise(page.extract_text() or "")
            if parts:
                offset += 2  # the "\n\n" joining pages
            pages.append(PageSpan(number, offset, offset + len(page_text)))
            parts.append(page_text)
            offset += len(page_text)
        title = ""
        if reader.metadata is not None and reader.metadata.title:
            title = str(reader.metadata.title)
    except ExtractionError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ExtractionError(f"The PDF could not be read: {exc}") from exc
    text = "\n\n".join(parts)
    if not text.strip():
        raise ExtractionError("The PDF has no text layer (a scanned document?); nothing to index.")
    return Extracted(text=text, pages=pages, title=title)


_BLOCK_SELECTOR = "h1,h2,h3,h4,h5,h6,p,li,pre,blockquote,td,th,dt,dd,figcaption"
_DROP_SELECTOR = "script,style,noscript,template,nav,footer,header,aside,form,svg,iframe"


def extract_html(html: str) -> Extracted:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node else ""
    for node in tree.css(_DROP_SELECTOR):
        node.decompose()
    root = tree.body or tree.root
    if root is None:
        return Extracted(text="", title=title)
    blocks: list[str] = []
    for node in root.css(_BLOCK_SELECTOR):
        if _has_block_ancestor(node, root):
            continue
        text = re.sub(r"\s+", " ", node.text(deep=True, separator=" ")).strip()
        text = re.sub(r" ([.,;:!?)])", r"\1", text)
        if not text:
            continue
        tag = node.tag or ""
        if len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
            text = "#" * int(tag[1]) + " " + text
        blocks.append(text)
    if not blocks:
        blocks = [re.sub(r"\s+", " ", root.text(separator=" ")).strip()]
    return Extracted(text="\n\n".join(b for b in blocks if b), title=title)


def _has_block_ancestor(node: object, root: object) -> bool:
    blocks = set(_BLOCK_SELECTOR.split(","))
    parent = getattr(node, "parent", None)
    while parent is not None and parent != root:
        if getattr(parent, "tag", None) in blocks:
            return True
        parent = getattr(parent, "parent", None)
    return False
