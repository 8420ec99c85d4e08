"""Turn an uploaded file's bytes into plain text with structure.

Structure is carried in the text itself as Markdown heading lines (``# Title``),
plus page spans for PDFs, so that the chunker treats every format alike.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath

from apps.knowledge import office_package as office  # ZIP office and book packages, RTF
from apps.knowledge.errors import ExtractionError

# Extracted and PageSpan live in ``extracted`` (format modules build them without importing
# this module); they are re-exported here, where callers have always found them.
from apps.knowledge.extracted import Extracted as Extracted
from apps.knowledge.extracted import PageSpan as PageSpan
from apps.knowledge.extracted import normalise_text as _normalise
from apps.knowledge.formats import extract_csv, extract_docx, extract_json, extract_jsonl, is_docx
from apps.knowledge.formats_image import IMAGE_MIME_TYPES, IMAGE_SUFFIXES, detect_image
from apps.knowledge.formats_image import extract_image as _extract_image
from apps.knowledge.formats_pdf import extract_pdf
from apps.knowledge.mailkind import (
    MAIL_MIME_TYPES,
    MAIL_SUFFIXES,
    MIME_EMAIL,
    OLE_MAGIC,
    looks_like_email,
    ole_kind,
)
from apps.knowledge.mediakind import MEDIA_MIME_TYPES, MEDIA_SUFFIXES, detect_media
from apps.knowledge.ocr import OcrOptions
from apps.knowledge.textcodec import decode_text, text_head

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
    *office.OFFICE_MIME_TYPES,
    *MAIL_MIME_TYPES,
    *IMAGE_MIME_TYPES,
    *MEDIA_MIME_TYPES,  # transcribed (transcripts.py), not read by ``extract``
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
    *office.OFFICE_SUFFIXES,
    *MAIL_SUFFIXES,
    *IMAGE_SUFFIXES,
    *MEDIA_SUFFIXES,
)
DEFAULT_MAX_EXPANDED_BYTES = 100 * 1024 * 1024

_MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown"}
_HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
_CSV_SUFFIXES = {".csv", ".tsv"}
_JSONL_SUFFIXES = {".jsonl", ".ndjson"}
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_BINARY_MAGIC = (
    (b"GIF8", "a GIF image"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "an executable"),
    (b"\x1f\x8b", "a gzip archive"),
)


def detect_mime_type(data: bytes, filename: str) -> str:
    """Decide the type from the content first, the extension second."""
    suffix = PurePath(filename).suffix.lower()
    if not data:
        raise ExtractionError("The file is empty.")
    if data.startswith(b"%PDF-"):
        return MIME_PDF
    if data.startswith(_ZIP_MAGIC):
        return _zip_kind(data)
    if office.is_rtf(data):
        return office.MIME_RTF
    if image_type := detect_image(data):
        return image_type  # read through OCR
    if media_type := detect_media(data):
        return media_type  # transcribed
    if data.startswith(OLE_MAGIC):
        return ole_kind(data)  # an Outlook message, or refused with the reason
    for magic, description in _BINARY_MAGIC:
        if data.startswith(magic):
            raise ExtractionError(f"Unsupported file type: the content is {description}.")
    head = text_head(data)  # text in any common encoding; binary content is refused
    if looks_like_email(head, filename):
        return MIME_EMAIL
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
            package = office.package_mime_type(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ExtractionError(f"The archive could not be read: {exc}") from exc
    return package or MIME_ZIP


@dataclass(frozen=True)
class ExtractOptions:
    """Limits and settings of the extractors. They run in a child process without Django
    settings, so the worker builds this from its settings (``indexing.extract_options``)."""

    max_expanded_bytes: int = DEFAULT_MAX_EXPANDED_BYTES
    mail_max_depth: int = 10  # multipart nesting of an e-mail
    mail_max_parts: int = 1_000  # MIME parts of one e-mail
    mail_max_attachments: int = 100  # attachments of one e-mail
    spreadsheet_max_rows: int = 50_000  # per sheet
    spreadsheet_max_cells: int = 2_000_000  # per workbook
    office_max_parts: int = 1_000  # sheets, slides or chapters of one file
    ocr: OcrOptions = field(default_factory=OcrOptions)  # scans and images
    # A fetched web page: its main content only (trafilatura, apps/knowledge/webpage.py).
    main_content: bool = False


def extract(data: bytes, mime_type: str, *, options: ExtractOptions | None = None) -> Extracted:
    """Text with structure for one document (archives are expanded before, not here)."""
    options = options or ExtractOptions()
    max_expanded_bytes = options.max_expanded_bytes
    if not data:
        raise ExtractionError("The file is empty.")
    if mime_type == MIME_PDF:
        return extract_pdf(data, options.ocr)
    if mime_type == MIME_HTML and options.main_content:
        from apps.knowledge.webpage import extract_web_page

        return extract_web_page(data)
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
    if mime_type in office.OFFICE_MIME_TYPES:
        return office.extract_office(data, mime_type, options)
    if mime_type in IMAGE_MIME_TYPES:
        return _extract_image(data, mime_type, options.ocr)
    if mime_type in MAIL_MIME_TYPES:
        from apps.knowledge.mailtext import extract_mail  # it imports this module

        return extract_mail(data, mime_type, options)
    raise ExtractionError(f"Unsupported file type: {mime_type}.")


def _decode(data: bytes) -> str:
    return decode_text(data)  # BOMs, UTF-8, then detection (textcodec)


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
