"""PDF: the text layer page by page (pypdf); pages without one rendered (pypdfium2) and OCR'd.

A page "lacks text" when its text layer has fewer than ``MIN_TEXT_CHARS`` characters other than
white space (a scan, or a scan with only a stamped page number); only those pages are OCR'd,
and each keeps its page number. Without Tesseract a PDF that has some text still indexes that
text, as before OCR existed; one with none fails with the sentence that says how to enable OCR.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

from PIL import Image

from apps.knowledge.errors import ExtractionError
from apps.knowledge.extracted import Extracted, join_pages, normalise_text
from apps.knowledge.ocr import OCR_MISSING, OcrOptions, TesseractReader

if TYPE_CHECKING:
    from pypdfium2 import PdfDocument

MIN_TEXT_CHARS = 20


def extract_pdf(data: bytes, ocr: OcrOptions | None = None) -> Extracted:
    """Text with page spans; the pages that lack a text layer read through OCR."""
    ocr = ocr or OcrOptions()
    texts, title = read_text_layer(data)
    missing = [index for index, text in enumerate(texts) if lacks_text(text)]
    if missing:
        texts = ocr_missing_pages(data, texts, missing, ocr)
    extracted = join_pages(texts, title=title)
    if not extracted.text.strip():
        raise ExtractionError(
            f"The PDF has no extractable text: no text layer, and OCR found no text on its "
            f"{len(texts)} page{'s' if len(texts) != 1 else ''}."
        )
    return extracted


def lacks_text(text: str) -> bool:
    return sum(1 for char in text if not char.isspace()) < MIN_TEXT_CHARS


def read_text_layer(data: bytes) -> tuple[list[str], str]:
    """Each page's text layer (normalised) and the document title; encryption refused."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractionError("The PDF is encrypted; upload an unprotected copy.")
        texts = [normalise_text(page.extract_text() or "") for page in reader.pages]
        title = ""
        if reader.metadata is not None and reader.metadata.title:
            title = str(reader.metadata.title)
    except ExtractionError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ExtractionError(f"The PDF could not be read: {exc}") from exc
    return texts, title


def ocr_missing_pages(
    data: bytes, texts: list[str], missing: list[int], ocr: OcrOptions
) -> list[str]:
    """``texts`` with the listed pages (0-based) replaced by what OCR reads on them."""
    has_text_elsewhere = len(missing) < len(texts)
    if len(missing) > ocr.max_pages:
        raise ExtractionError(
            f"The PDF has {len(missing):,} pages without a text layer; OCR reads at most "
            f"{ocr.max_pages} pages per document (OCR_MAX_PAGES)."
        )
    try:
        reader = TesseractReader(ocr)
    except ExtractionError as exc:
        if has_text_elsewhere and str(exc) == OCR_MISSING:
            return texts  # no Tesseract: the text there is, as before OCR existed
        raise
    import pypdfium2 as pdfium

    result = list(texts)
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise ExtractionError(f"The PDF could not be rendered for OCR: {exc}") from exc
    try:
        for index in missing:
            page_text = ocr_page(document, index, reader, ocr)
            if len(page_text.strip()) > len(texts[index].strip()):
                result[index] = page_text
    finally:
        document.close()
    return result


def ocr_page(document: PdfDocument, index: int, reader: TesseractReader, ocr: OcrOptions) -> str:
    """Render one page at ``OCR_DPI`` (less when that would pass the pixel bound), read it."""
    import pypdfium2 as pdfium

    try:
        page = document[index]
        if next(iter(page.get_objects(max_depth=1)), None) is None:
            return ""  # a blank page: nothing to see
        scale = render_scale(page.get_size(), ocr)
        image: Image.Image = page.render(scale=scale, grayscale=True).to_pil()
    except pdfium.PdfiumError as exc:
        raise ExtractionError(f"Page {index + 1} of the PDF could not be rendered: {exc}") from exc
    return reader.read(image, dpi=round(72 * scale), label=f"page {index + 1}")


def render_scale(size_points: tuple[float, float], ocr: OcrOptions) -> float:
    """Pixels per point: ``OCR_DPI`` / 72, lowered for a page so large that its pixels would
    pass ``OCR_MAX_PIXELS`` (a hostile page size costs resolution, never memory)."""
    width, height = (max(1.0, value) for value in size_points)
    scale = ocr.dpi / 72
    if width * height * scale * scale > ocr.max_pixels:
        scale = math.sqrt(ocr.max_pixels / (width * height))
    return scale
