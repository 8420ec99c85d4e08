"""ZIP-based office and book packages: their type from their structure, and the guards every
package passes before a parser sees it.

OOXML is told apart by its parts (``xl/workbook.xml``, ``ppt/presentation.xml``), the
macro-enabled workbook by its content type; OpenDocument and EPUB by their ``mimetype``
member. This module imports nothing of ``extract`` so that ``extract`` can import it; the
extractors themselves (``formats_sheets``, ``formats_slides``, ``formats_books``) are loaded
only when a file of their type is read.
"""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING

from apps.knowledge.errors import ExtractionError
from apps.knowledge.formats import ZIP_MEMBER_ERRORS, check_zip_expansion

if TYPE_CHECKING:
    from apps.knowledge.extract import Extracted, ExtractOptions

MIME_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MIME_XLSM = "application/vnd.ms-excel.sheet.macroEnabled.12"
MIME_ODS = "application/vnd.oasis.opendocument.spreadsheet"
MIME_PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
MIME_ODP = "application/vnd.oasis.opendocument.presentation"
MIME_ODT = "application/vnd.oasis.opendocument.text"
MIME_RTF = "application/rtf"
MIME_EPUB = "application/epub+zip"
OFFICE_MIME_TYPES = (
    MIME_XLSX,
    MIME_XLSM,
    MIME_ODS,
    MIME_PPTX,
    MIME_ODP,
    MIME_ODT,
    MIME_RTF,
    MIME_EPUB,
)
OFFICE_SUFFIXES = (".xlsx", ".xlsm", ".ods", ".pptx", ".odp", ".odt", ".rtf", ".epub")

_OPENDOCUMENT = "application/vnd.oasis.opendocument."
_MACRO_WORKBOOK = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"
# Parts parsed as XML; media (images, fonts) are not scanned.
_XML_SUFFIXES = (".xml", ".rels", ".xhtml", ".html", ".htm", ".opf", ".ncx", ".svg")
_SCAN_BLOCK = 1024 * 1024


def read_capped(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """A member's first ``limit`` bytes (b"" when it is missing)."""
    try:
        with archive.open(name) as handle:
            return handle.read(limit)
    except KeyError:
        return b""
    except ZIP_MEMBER_ERRORS as exc:
        raise ExtractionError(f"The package part {name!r} could not be read: {exc}") from exc


def package_mime_type(archive: zipfile.ZipFile) -> str | None:
    """The office or book type of a ZIP container, or None for a plain archive."""
    names = set(archive.namelist())
    if "xl/workbook.xml" in names:
        content_types = read_capped(archive, "[Content_Types].xml", 1024 * 1024)
        return MIME_XLSM if _MACRO_WORKBOOK in content_types else MIME_XLSX
    if "xl/workbook.bin" in names:
        raise ExtractionError(
            "Unsupported file type: Excel binary workbooks (.xlsb) are not indexed; "
            "save the workbook as .xlsx."
        )
    if "ppt/presentation.xml" in names:
        return MIME_PPTX
    if "mimetype" not in names:
        return None
    declared = read_capped(archive, "mimetype", 200).decode("ascii", "replace").strip()
    if declared == MIME_EPUB:
        return MIME_EPUB
    if declared.startswith(_OPENDOCUMENT):
        kind = declared.removesuffix("-template")  # a template reads like its document
        if kind in (MIME_ODT, MIME_ODS, MIME_ODP):
            return kind
        raise ExtractionError(f"Unsupported file type: the OpenDocument type {declared!r}.")
    return None


def is_rtf(data: bytes) -> bool:
    return data.startswith(b"{\\rtf")


def check_package(data: bytes, *, max_expanded_bytes: int, what: str) -> None:
    """The checks a package passes before any parser sees it: its expanded size and ratios
    (bombs), encryption, and XML entity declarations (entity expansion).

    ``what`` names the format in the sentences ("The spreadsheet ...")."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ExtractionError(
            f"The {what} could not be read (damaged or truncated): {exc}"
        ) from exc
    with archive:
        check_zip_expansion(archive, max_expanded_bytes=max_expanded_bytes)
        _refuse_encryption(archive, what)
        for info in archive.infolist():
            if info.filename.lower().endswith(_XML_SUFFIXES):
                _refuse_entities(archive, info, what)


def _refuse_encryption(archive: zipfile.ZipFile, what: str) -> None:
    protected = f"The {what} is password-protected or encrypted; upload an unprotected copy."
    if any(info.flag_bits & 0x1 for info in archive.infolist()):
        raise ExtractionError(protected)
    # OpenDocument encrypts parts and says so in its manifest; EPUB (DRM) in encryption.xml.
    manifest = read_capped(archive, "META-INF/manifest.xml", 4 * 1024 * 1024)
    if b"encryption-data" in manifest or "META-INF/encryption.xml" in archive.namelist():
        raise ExtractionError(protected)


def _refuse_entities(archive: zipfile.ZipFile, info: zipfile.ZipInfo, what: str) -> None:
    """Office XML never declares entities; a part that does is an entity-expansion attack
    (the parsers below refuse or ignore them too, but this says so in a sentence)."""
    marker = b"<!ENTITY"
    tail = b""
    try:
        with archive.open(info) as handle:
            while block := handle.read(_SCAN_BLOCK):
                if marker in tail + block:
                    raise ExtractionError(
                        f"The {what} part {info.filename!r} declares XML entities "
                        "(an entity-expansion attack?); refusing to read it."
                    )
                tail = block[-len(marker) :]
    except ZIP_MEMBER_ERRORS as exc:
        raise ExtractionError(
            f"The {what} part {info.filename!r} is damaged and could not be read: {exc}"
        ) from exc


def extract_office(data: bytes, mime_type: str, options: ExtractOptions) -> Extracted:
    """Dispatch to the extractor of an office or book type (imported only when needed)."""
    if mime_type in (MIME_XLSX, MIME_XLSM, MIME_ODS):
        from apps.knowledge.formats_sheets import extract_spreadsheet

        return extract_spreadsheet(data, mime_type, options)
    if mime_type in (MIME_PPTX, MIME_ODP):
        from apps.knowledge.formats_slides import extract_presentation

        return extract_presentation(data, mime_type, options)
    from apps.knowledge.formats_books import extract_book

    return extract_book(data, mime_type, options)
