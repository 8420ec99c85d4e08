"""OCR of scans and images with the real Tesseract (Debian's tesseract-ocr; `make test`)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from apps.knowledge.errors import ExtractionError
from apps.knowledge.extract import MIME_PDF, ExtractOptions, detect_mime_type, extract
from apps.knowledge.formats_image import MIME_JPEG, MIME_PNG, MIME_TIFF, MIME_WEBP
from apps.knowledge.formats_pdf import render_scale
from apps.knowledge.indexing import index_document
from apps.knowledge.models import Document
from apps.knowledge.ocr import OcrOptions
from apps.knowledge.uploads import add_upload
from tests.knowledge.files import pdf_bytes
from tests.knowledge.scans import image_bytes, mixed_pdf, scanned_pdf, text_image, tiff_bytes

INVOICE = ["Invoice number 4711", "Total due 250 euros"]
GERMAN = ["Größe der Übung", "Straße und Käse"]


def _ocr(data: bytes, name: str = "upload", **ocr: object) -> tuple[str, list[tuple[int, str]]]:
    """The text of a file (type from its content), and each page's number and text."""
    extracted = extract(
        data, detect_mime_type(data, name), options=ExtractOptions(ocr=OcrOptions(**ocr))
    )
    pages = [(p.page, extracted.text[p.start : p.end]) for p in extracted.pages]
    return extracted.text, pages


@pytest.mark.parametrize(
    ("format", "mime_type", "save"),
    [("PNG", MIME_PNG, {}), ("JPEG", MIME_JPEG, {"quality": 85}), ("WEBP", MIME_WEBP, {})],
)
def test_words_in_an_image_are_read_and_its_type_comes_from_its_content(
    format: str, mime_type: str, save: dict[str, object]
) -> None:
    data = image_bytes(INVOICE, format, **save)
    assert detect_mime_type(data, "notes.txt") == mime_type
    text, pages = _ocr(data, "notes.txt")
    assert "Invoice number 4711" in text and "Total due 250 euros" in text
    assert pages == []  # one picture is not a paged document


def test_each_frame_of_a_tiff_is_a_page_with_its_number() -> None:
    data = tiff_bytes([["First page says hello"], ["Second page says goodbye"]])
    assert detect_mime_type(data, "scan.pdf") == MIME_TIFF
    _, pages = _ocr(data)
    assert pages == [(1, "First page says hello"), (2, "Second page says goodbye")]


def test_a_scanned_pdf_is_read_page_by_page() -> None:
    data = scanned_pdf([["Scanned contract page one"], ["Signed by both parties"]])
    text, pages = _ocr(data, "contract.pdf")
    assert pages == [(1, "Scanned contract page one"), (2, "Signed by both parties")]


def test_a_mixed_pdf_ocrs_only_the_page_that_lacks_text() -> None:
    # Page 1 shows "VISIBLE ONLY IN PIXELS" but its text layer says something else: had it
    # been OCR'd, those words would be in the text.
    data = mixed_pdf(
        layer_text="The quarterly budget is approved by the board",
        pixels_only=["VISIBLE ONLY IN PIXELS"],
        scanned=["Whiteboard notes ship on Friday"],
    )
    text, pages = _ocr(data, "minutes.pdf")
    assert pages == [
        (1, "The quarterly budget is approved by the board"),
        (2, "Whiteboard notes ship on Friday"),
    ]
    assert "VISIBLE" not in text


def test_the_ocr_languages_setting_chooses_the_language_data() -> None:
    data = image_bytes(GERMAN, "PNG")
    german, _ = _ocr(data, languages="deu")
    english, _ = _ocr(data, languages="eng")
    assert "Größe der Übung" in german and "Straße und Käse" in german
    assert "Straße" not in english  # English data has no ß: the setting made the difference


def test_a_language_without_its_data_is_named_with_the_package_to_install() -> None:
    with pytest.raises(ExtractionError, match="tesseract-ocr-fra"):
        _ocr(image_bytes(INVOICE, "PNG"), languages="eng+fra")
    with pytest.raises(ExtractionError, match="OCR_LANGUAGES"):
        _ocr(image_bytes(INVOICE, "PNG"), languages="eng; rm -rf /")


def test_a_blank_scan_fails_saying_ocr_found_no_text() -> None:
    blank = io.BytesIO()
    Image.new("L", (400, 300), "white").save(blank, "PNG")
    with pytest.raises(ExtractionError, match="OCR found no text"):
        _ocr(blank.getvalue())
    with pytest.raises(ExtractionError, match="no extractable text"):
        _ocr(pdf_bytes([""]))


def test_gif_images_are_still_refused() -> None:
    with pytest.raises(ExtractionError, match="GIF image"):
        detect_mime_type(image_bytes(INVOICE, "GIF"), "chart.png")


# --- Hostile images and scans: each fails its document with a sentence ---


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` × ``height`` pixels (a decompression bomb)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + payload))
        return struct.pack(">I", len(payload)) + kind + payload + crc

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * 4096)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("data", "max_pixels"),
    [
        (_png_declaring(100_000, 100_000), 50_000_000),  # past Pillow's own error bound
        (image_bytes(INVOICE, "PNG"), 100_000),  # between Pillow's warning and error bounds
        (image_bytes(INVOICE, "PNG"), 20_000),
    ],
)
def test_an_image_over_the_pixel_bound_is_refused_before_it_is_decoded(
    data: bytes, max_pixels: int
) -> None:
    assert len(data) < 20_000
    with pytest.raises(ExtractionError, match="OCR_MAX_PIXELS"):
        _ocr(data, max_pixels=max_pixels)
    assert max_pixels != Image.MAX_IMAGE_PIXELS  # Pillow's global bound is given back


def test_a_truncated_jpeg_fails_with_a_reason() -> None:
    data = image_bytes(INVOICE, "JPEG")
    with pytest.raises(ExtractionError, match="could not be read.*truncated"):
        _ocr(data[: len(data) // 2])


def test_a_tiff_with_thousands_of_frames_is_refused_past_the_page_bound() -> None:
    frames = [Image.new("L", (8, 8), "white") for _ in range(2000)]
    out = io.BytesIO()
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:])
    with pytest.raises(ExtractionError, match=r"more than 100 pages.*OCR_MAX_PAGES"):
        _ocr(out.getvalue(), max_pages=100)


def test_a_pdf_with_many_pages_without_text_is_refused_past_the_page_bound() -> None:
    with pytest.raises(ExtractionError, match=r"150 pages without a text layer.*OCR_MAX_PAGES"):
        _ocr(pdf_bytes([""] * 150), max_pages=100)


def test_ocr_over_its_time_budget_is_stopped_with_a_sentence() -> None:
    with pytest.raises(ExtractionError, match="took longer than.*OCR_TIMEOUT_SECONDS"):
        _ocr(scanned_pdf([INVOICE, INVOICE]), timeout_seconds=0.001)


def test_a_huge_pdf_page_is_rendered_at_a_lower_resolution_within_the_pixel_bound() -> None:
    options = OcrOptions(dpi=300, max_pixels=50_000_000)
    scale = render_scale((14_400.0, 14_400.0), options)  # the largest page PDF allows
    assert (14_400 * scale) ** 2 <= 50_000_000
    assert render_scale((595.0, 842.0), options) == 300 / 72  # A4 keeps OCR_DPI


# --- End to end: upload, indexing in the extraction child, chunks with pages ---


@pytest.mark.django_db
def test_an_uploaded_scan_and_photo_become_chunks_with_their_page_numbers(
    knowledge_base, settings
) -> None:
    settings.OCR_LANGUAGES = "eng+deu"
    scan = scanned_pdf([["Scanned contract page one"], ["Termination needs three months notice"]])
    photo = image_bytes(GERMAN, "JPEG")
    outcomes = add_upload(knowledge_base=knowledge_base, filename="scan.pdf", data=scan)
    outcomes += add_upload(knowledge_base=knowledge_base, filename="whiteboard.jpg", data=photo)
    for outcome in outcomes:
        assert outcome.document is not None, outcome.error
        assert index_document(document_id=outcome.document.pk).outcome == "indexed"
    scan_doc, photo_doc = (outcome.document for outcome in outcomes)
    assert (scan_doc.mime_type, photo_doc.mime_type) == (MIME_PDF, MIME_JPEG)
    notice = scan_doc.chunks.get(text__contains="three months")
    assert notice.page == 2
    assert photo_doc.chunks.filter(text__contains="Straße und Käse").exists()


@pytest.mark.django_db
def test_a_phone_sized_photo_is_read_under_the_default_memory_limit(
    knowledge_base, settings
) -> None:
    assert settings.EXTRACT_MEMORY_MB == 1024  # the default the child (and Tesseract) run under
    photo = Image.new("RGB", (4000, 3000), "white")  # 12 megapixels, as phones take them
    photo.paste(
        text_image(["A photo of the whiteboard at full size"], width=3000, size=80), (400, 1400)
    )
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=80)
    [outcome] = add_upload(
        knowledge_base=knowledge_base, filename="IMG_0001.jpg", data=out.getvalue()
    )
    assert index_document(document_id=outcome.document.pk).outcome == "indexed"
    assert outcome.document.chunks.filter(text__contains="whiteboard at full size").exists()


@pytest.mark.django_db
def test_without_tesseract_a_scan_fails_saying_how_to_enable_ocr(knowledge_base, settings) -> None:
    settings.OCR_TESSERACT_CMD = "/nonexistent/tesseract"
    mixed = mixed_pdf(
        layer_text="The quarterly budget is approved by the board",
        pixels_only=["VISIBLE ONLY IN PIXELS"],
        scanned=["Whiteboard notes ship on Friday"],
    )
    files = {"scan.png": image_bytes(INVOICE, "PNG"), "scan.pdf": scanned_pdf([INVOICE])}
    for name, data in files.items():
        [outcome] = add_upload(knowledge_base=knowledge_base, filename=name, data=data)
        assert index_document(document_id=outcome.document.pk).outcome == "failed"
        outcome.document.refresh_from_db()
        assert outcome.document.status == Document.Status.FAILED
        assert "OCR needs Tesseract" in outcome.document.error
        assert "apt-get install tesseract-ocr" in outcome.document.error
    # A PDF with text keeps indexing that text, as it did before OCR existed.
    [outcome] = add_upload(knowledge_base=knowledge_base, filename="minutes.pdf", data=mixed)
    assert index_document(document_id=outcome.document.pk).outcome == "indexed"
    assert outcome.document.chunks.filter(text__contains="quarterly budget").exists()


@pytest.mark.django_db
def test_a_broken_image_fails_its_document_at_indexing_and_the_next_one_indexes(
    knowledge_base,
) -> None:
    [broken] = add_upload(
        knowledge_base=knowledge_base,
        filename="photo.png",
        data=b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
    )
    assert index_document(document_id=broken.document.pk).outcome == "failed"
    broken.document.refresh_from_db()
    assert "The image could not be read" in broken.document.error
    [good] = add_upload(
        knowledge_base=knowledge_base, filename="good.png", data=image_bytes(INVOICE, "PNG")
    )
    assert index_document(document_id=good.document.pk).outcome == "indexed"
