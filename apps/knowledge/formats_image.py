"""Images (PNG, JPEG, TIFF, WebP): the type from the magic bytes, the text through OCR.

Pixels are bounded before anything is decoded (a tiny PNG can declare a gigapixel), a TIFF's
frames are its pages (bounded by ``OCR_MAX_PAGES``), and a truncated or corrupt image fails
with a reason. Other formats' animation frames are not pages: only the first is read.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image, ImageOps, UnidentifiedImageError

from apps.knowledge.errors import ExtractionError
from apps.knowledge.extracted import Extracted, join_pages
from apps.knowledge.ocr import OcrOptions, TesseractReader

MIME_PNG = "image/png"
MIME_JPEG = "image/jpeg"
MIME_TIFF = "image/tiff"
MIME_WEBP = "image/webp"
IMAGE_MIME_TYPES = (MIME_PNG, MIME_JPEG, MIME_TIFF, MIME_WEBP)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")
# The Pillow decoder allowed for each type: content that claims PNG is read as PNG only.
_PILLOW_FORMATS = {MIME_PNG: "PNG", MIME_JPEG: "JPEG", MIME_TIFF: "TIFF", MIME_WEBP: "WEBP"}
# Resolutions outside this range are metadata noise; Tesseract then estimates its own.
_PLAUSIBLE_DPI = range(70, 2401)


def detect_image(data: bytes) -> str | None:
    """The image type from the magic bytes, or None for anything else (GIF included)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return MIME_PNG
    if data.startswith(b"\xff\xd8\xff"):
        return MIME_JPEG
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return MIME_TIFF
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return MIME_WEBP
    return None


def extract_image(data: bytes, mime_type: str, options: OcrOptions) -> Extracted:
    """OCR every page (TIFF frame) of an image; a multi-page TIFF keeps its page numbers."""
    reader = TesseractReader(options)
    with open_image(data, mime_type, options.max_pixels) as image:
        count = frame_count(image, options.max_pages)
        texts = [
            reader.read(
                load_frame(image, index, options.max_pixels),
                dpi=image_dpi(image),
                label=f"page {index + 1}" if count > 1 else "the image",
            )
            for index in range(count)
        ]
    if not any(text.strip() for text in texts):
        raise ExtractionError("OCR found no text in the image.")
    if count == 1:
        return Extracted(text=texts[0])
    return join_pages(texts)


@contextmanager
def open_image(data: bytes, mime_type: str, max_pixels: int) -> Iterator[Image.Image]:
    """The image opened (headers only) by its own decoder, refused when over the pixel bound."""
    pillow_bound = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow's own bomb check, at the same bound
    try:
        with _opened(data, mime_type, max_pixels) as image:
            check_pixels(image, max_pixels)
            yield image
    finally:
        Image.MAX_IMAGE_PIXELS = pillow_bound


def unreadable(exc: Exception) -> str:
    """A sentence for an image Pillow cannot decode (its own message names a Python object)."""
    if isinstance(exc, UnidentifiedImageError):
        return "The image could not be read: it is damaged, truncated or not really an image."
    return f"The image could not be read: {exc}"


@contextmanager
def _opened(data: bytes, mime_type: str, max_pixels: int) -> Iterator[Image.Image]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[mime_type]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ExtractionError(_too_many_pixels(max_pixels)) from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ExtractionError(unreadable(exc)) from exc
    with image:
        yield image


def check_pixels(image: Image.Image, max_pixels: int) -> None:
    width, height = image.size
    if width * height > max_pixels:
        raise ExtractionError(
            f"The image is {width:,} × {height:,} pixels; " + _too_many_pixels(max_pixels)
        )


def _too_many_pixels(max_pixels: int) -> str:
    return (
        f"OCR reads images of at most {max_pixels:,} pixels (OCR_MAX_PIXELS), "
        "so it was not decoded."
    )


def frame_count(image: Image.Image, max_pages: int) -> int:
    """A TIFF's pages, found without walking past ``max_pages`` of them; 1 for the rest.

    Counted by seeking frame after frame: Pillow's ``n_frames`` is wrong after a failed seek.
    """
    if image.format != "TIFF":
        return 1
    for index in range(1, max_pages + 1):
        try:
            image.seek(index)
        except EOFError:
            return index
        except (OSError, ValueError, SyntaxError) as exc:
            raise ExtractionError(f"The TIFF could not be read: {exc}") from exc
    raise ExtractionError(
        f"The TIFF has more than {max_pages} pages; OCR reads at most {max_pages} pages per "
        "document (OCR_MAX_PAGES)."
    )


def load_frame(image: Image.Image, index: int, max_pixels: int) -> Image.Image:
    """One frame decoded (upright, as the camera meant it); a truncated one fails."""
    try:
        image.seek(index)
        check_pixels(image, max_pixels)
        if image.format == "JPEG":
            image.draft("L", image.size)  # decoded straight to grey: a third of the memory
        image.load()
        return ImageOps.exif_transpose(image)
    except ExtractionError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ExtractionError(unreadable(exc)) from exc


def image_dpi(image: Image.Image) -> int | None:
    dpi = image.info.get("dpi")
    if not isinstance(dpi, tuple) or not dpi:
        return None
    try:
        value = round(float(dpi[0]))
    except (TypeError, ValueError):
        return None
    return value if value in _PLAUSIBLE_DPI else None
