"""Small files made on the fly for format and hostile-input tests."""

from __future__ import annotations

import io
import zipfile


def docx_bytes(*blocks: tuple[str, str]) -> bytes:
    """``(style, text)`` paragraphs; style "Heading 1", "Title" or "" for body text."""
    from docx import Document

    document = Document()
    for style, text in blocks:
        if style.startswith("Heading"):
            document.add_heading(text, level=int(style.split()[-1]))
        elif style == "Title":
            document.add_heading(text, level=0)
        else:
            document.add_paragraph(text)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Plan", "Limit"
    table.cell(1, 0).text, table.cell(1, 1).text = "Team", "4 GB"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zip_bytes(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def pdf_bytes(pages: list[str], *, encrypt_with: str | None = None) -> bytes:
    """A PDF with one text line per page ("" makes a page with a drawing but no text)."""
    from pypdf import PdfReader, PdfWriter
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    for text in pages:
        if text:
            pdf.drawString(72, 720, text)
        else:
            pdf.rect(72, 600, 200, 100)
        pdf.showPage()
    pdf.save()
    if encrypt_with is None:
        return out.getvalue()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(out.getvalue())))
    writer.encrypt(encrypt_with)
    encrypted = io.BytesIO()
    writer.write(encrypted)
    return encrypted.getvalue()
