"""Scans and photos made on the fly: text drawn with a real font, saved by Pillow or reportlab.

Large clear text on small pages, so that the real Tesseract reads them quickly and surely.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
)


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_CANDIDATES:
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)  # Pillow's own scalable font


def text_image(lines: list[str], *, width: int = 1000, size: int = 36) -> Image.Image:
    """Black text on white, one line per entry, as a scanner at ~200 dpi would see it."""
    height = 60 + len(lines) * size * 2
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((40, 30 + number * size * 2), line, font=font(size), fill="black")
    return image


def image_bytes(lines: list[str], format: str, **save: object) -> bytes:
    out = io.BytesIO()
    text_image(lines).save(out, format, **save)
    return out.getvalue()


def tiff_bytes(pages: list[list[str]]) -> bytes:
    """A multi-page TIFF, one frame per page."""
    frames = [text_image(lines).convert("L") for lines in pages]
    out = io.BytesIO()
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:], compression="tiff_lzw")
    return out.getvalue()


def scanned_pdf(pages: list[list[str]]) -> bytes:
    """A PDF of images only (no text layer), as a scanner makes it; Pillow writes it."""
    frames = [text_image(lines) for lines in pages]
    out = io.BytesIO()
    frames[0].save(out, "PDF", save_all=True, append_images=frames[1:], resolution=150)
    return out.getvalue()


def mixed_pdf(*, layer_text: str, pixels_only: list[str], scanned: list[str]) -> bytes:
    """Page 1: an invisible text layer (``layer_text``) over an image of other words
    (``pixels_only``); page 2: a scan. Whoever OCRs page 1 reads words its layer lacks."""
    from reportlab.lib.pagesizes import A5
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A5)
    width, height = A5
    pdf.drawImage(
        ImageReader(text_image(pixels_only)), 20, height - 200, width=width - 40, height=120
    )
    text = pdf.beginText(40, height - 260)
    text.setTextRenderMode(3)  # invisible, as in the text layer of an OCR'd PDF
    text.textLine(layer_text)
    pdf.drawText(text)
    pdf.showPage()
    pdf.drawImage(ImageReader(text_image(scanned)), 20, height - 200, width=width - 40, height=120)
    pdf.showPage()
    pdf.save()
    return out.getvalue()
