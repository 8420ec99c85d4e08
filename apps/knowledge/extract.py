"""Turn an uploaded file's bytes into plain text with structure.

Structure is carried in the text itself as Markdown heading lines (``# Title``),
plus page spans for PDFs, so that the chunker treats every format alike.
"""

from __future__ import annotations

import codecs
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath

from apps.knowledge.errors import ExtractionError
from apps.knowledge.formats import extract_csv, extract_docx, extract_json, extract_jsonl, is_docx

MIME_PDF = "application/pdf"
MIME_HTML = "text/html"
MIME_MARKDOWN = "text/markdown"
MIME_TEXT = "text/plain"
MIME_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MIME_CSV = "text/csv"
MIME_JSON = "application/json"
MIME_JSONL = "application/jsonl"
MIME_ZIP = "application/zip"
# Types that become one document each; a ZIP archive becomes one document per member.
DOCUMENT_MIME_TYPES = (
    MIME_PDF,
    MIME_HTML,
    MIME_MARKDOWN,
    MIME_TEXT,
    MIME_DOCX,
    MIME_CSV,
    MIME_JSON,
    MIME_JSONL,
)
SUPPORTED_MIME_TYPES = (*DOCUMENT_MIME_TYPES, MIME_ZIP)
# What the file picker offers; the content decides in the end.
ACCEPTED_SUFFIXES = (
    ".txt",
    ".md",
    ".markdown",
    ".html",
    ".htm",
    ".pdf",
    ".docx",
    ".csv",
    ".tsv",
    ".json",
    ".jsonl",
    ".ndjson",
    ".zip",
)
DEFAULT_MAX_EXPANDED_BYTES = 100 * 1024 * 1024

_MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown"}
_HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
_CSV_SUFFIXES = {".csv", ".tsv"}
_JSONL_SUFFIXES = {".jsonl", ".ndjson"}
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_BINARY_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "an executable"),
    (b"\x1f\x8b", "a gzip archive"),
)


@dataclass(frozen=True)
class PageSpan:
    page: int
    start: int
    end: int


@dataclass(frozen=True)
class Extracted:
    """``pages`` numbers spans of the text; ``page_kind`` says what they count (``"page"``
    of a PDF or scan, ``"slide"`` of a presentation), for citations like "slide 3"."""

    text: str
    pages: list[PageSpan] = field(default_factory=list)
    title: str = ""
    page_kind: str = "page"


def detect_mime_type(data: bytes, filename: str) -> str:
    """Decide the type from the content first, the extension second."""
    suffix = PurePath(filename).suffix.lower()
    if not data:
        raise ExtractionError("The file is empty.")
    if data.startswith(b"%PDF-"):
        return MIME_PDF
    if data.startswith(_ZIP_MAGIC):
        return _zip_kind(data)
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
    if suffix in _CSV_SUFFIXES:
        return MIME_CSV
    if suffix in _JSONL_SUFFIXES:
        return MIME_JSONL
    if suffix == ".json" or (lowered.startswith(("{", "[")) and _is_json(data)):
        return MIME_JSON
    return MIME_TEXT


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def _zip_kind(data: bytes) -> str:
    if is_docx(data):
        return MIME_DOCX
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ExtractionError(f"The archive could not be read: {exc}") from exc
    if "xl/workbook.xml" in names or "ppt/presentation.xml" in names:
        raise ExtractionError(
            "Unsupported file type: Excel and PowerPoint files are not indexed; "
            "export them as CSV or PDF."
        )
    return MIME_ZIP


@dataclass(frozen=True)
class ExtractOptions:
    """Limits and settings of the extractors. They run in a child process without Django
    settings, so the worker builds this from its settings (``indexing.extract_options``)."""

    max_expanded_bytes: int = DEFAULT_MAX_EXPANDED_BYTES


def extract(data: bytes, mime_type: str, *, options: ExtractOptions | None = None) -> Extracted:
    """Text with structure for one document (archives are expanded before, not here)."""
    options = options or ExtractOptions()
    max_expanded_bytes = options.max_expanded_bytes
    if not data:
        raise ExtractionError("The file is empty.")
    if mime_type == MIME_PDF:
        return extract_pdf(data)
    if mime_type == MIME_HTML:
        return extract_html(_decode(data))
    if mime_type in (MIME_MARKDOWN, MIME_TEXT):
        return Extracted(text=_normalise(_decode(data)))
    if mime_type == MIME_DOCX:
        return Extracted(text=_normalise(extract_docx(data, max_expanded_bytes=max_expanded_bytes)))
    if mime_type == MIME_CSV:
        return Extracted(text=_normalise(extract_csv(_decode(data))))
    if mime_type == MIME_JSON:
        return Extracted(text=_normalise(extract_json(_decode(data))))
    if mime_type == MIME_JSONL:
        return Extracted(text=_normalise(extract_jsonl(_decode(data))))
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
        raise ExtractionError(
            "The PDF has no extractable text (a scanned document?). "
            "OCR is not available here: upload a PDF with a text layer."
        )
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
