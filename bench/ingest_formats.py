"""Ingestion throughput per format, and OCR pages per second (``bench/ingest.py --formats``).

For each format, --per-format documents of about the same text (a few KB, like a memo or a
short report) are made with the library that writes that format for real; OCR formats are
A4 pages scanned at 300 dpi with 25 lines of text. Two figures per format:

- extraction: the bytes through the extraction child (``sandbox.extract_isolated``, with the
  settings' limits), as the worker runs it: documents, pages and MB per second;
- pipeline: upload + ``index_document`` in this process (extract in the child, chunk, embed
  over HTTP through the local provider, store in PostgreSQL): documents and chunks per second.

Formats whose extractor is not in this checkout are skipped. Uses the qa_bench database.
"""

from __future__ import annotations

import email.message
import io
import os
import random
import subprocess
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings

from apps.knowledge.extract import detect_mime_type
from apps.knowledge.indexing import extract_options, extraction_timeout, index_document
from apps.knowledge.models import Chunk, KnowledgeBase
from apps.knowledge.sandbox import extract_isolated
from apps.knowledge.uploads import add_upload

Maker = Callable[[int, random.Random], tuple[str, bytes]]
WORDS = [
    "policy",
    "laptop",
    "travel",
    "hotel",
    "expense",
    "incident",
    "severity",
    "backup",
    "restore",
    "network",
    "guest",
    "office",
    "desk",
    "meeting",
    "budget",
    "leave",
    "holiday",
    "security",
    "password",
    "device",
    "encryption",
    "report",
    "deploy",
    "rollback",
    "customer",
    "support",
    "plan",
    "storage",
    "release",
    "team",
    "manager",
    "onboarding",
    "contract",
    "invoice",
    "payment",
    "approval",
    "vendor",
    "license",
    "audit",
    "training",
]


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 14))).capitalize() + "."


def paragraphs(rng: random.Random, count: int = 12) -> list[str]:
    return [" ".join(sentence(rng) for _ in range(4)) for _ in range(count)]


def make_md(i: int, rng: random.Random) -> tuple[str, bytes]:
    body = "\n\n".join(f"## Part {n}\n\n{p}" for n, p in enumerate(paragraphs(rng)))
    return f"memo{i}.md", f"# Memo {i}\n\n{body}\n".encode()


def make_html(i: int, rng: random.Random) -> tuple[str, bytes]:
    body = "".join(f"<h2>Part {n}</h2><p>{p}</p>" for n, p in enumerate(paragraphs(rng)))
    page = f"<html><head><title>Memo {i}</title></head><body><nav>Home</nav>{body}</body></html>"
    return f"memo{i}.html", page.encode()


def make_csv(i: int, rng: random.Random) -> tuple[str, bytes]:
    rows = "\n".join(
        f'{n},{rng.choice(WORDS)},{rng.randint(1, 9999)},"{sentence(rng)}"' for n in range(60)
    )
    return f"ledger{i}.csv", f"row,owner,cost,note\n{rows}\n".encode()


def make_docx(i: int, rng: random.Random) -> tuple[str, bytes]:
    from docx import Document as Docx

    document = Docx()
    document.add_heading(f"Memo {i}", level=1)
    for n, text in enumerate(paragraphs(rng)):
        if n % 4 == 0:
            document.add_heading(f"Part {n}", level=2)
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return f"memo{i}.docx", out.getvalue()


def make_pdf(i: int, rng: random.Random) -> tuple[str, bytes]:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    out = io.BytesIO()
    styles = getSampleStyleSheet()
    story = [Paragraph(f"Memo {i}", styles["Heading1"])]
    story += [Paragraph(text, styles["BodyText"]) for text in paragraphs(rng)]
    SimpleDocTemplate(out, pagesize=A4).build(story)
    return f"memo{i}.pdf", out.getvalue()


def make_xlsx(i: int, rng: random.Random) -> tuple[str, bytes]:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Budget"
    sheet.append(["Owner", "Cost", "Note"])
    for _ in range(60):
        sheet.append([rng.choice(WORDS), rng.randint(1, 9999), sentence(rng)])
    out = io.BytesIO()
    workbook.save(out)
    return f"budget{i}.xlsx", out.getvalue()


def make_pptx(i: int, rng: random.Random) -> tuple[str, bytes]:
    from pptx import Presentation

    deck = Presentation()
    for n in range(6):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = f"Slide {n} of deck {i}"
        slide.placeholders[1].text = "\n".join(sentence(rng) for _ in range(4))
        slide.notes_slide.notes_text_frame.text = sentence(rng)
    out = io.BytesIO()
    deck.save(out)
    return f"deck{i}.pptx", out.getvalue()


def make_eml(i: int, rng: random.Random) -> tuple[str, bytes]:
    message = email.message.EmailMessage()
    message["From"] = "Alice <alice@example.com>"
    message["To"] = "team@example.com"
    message["Subject"] = f"Weekly update {i}"
    message["Date"] = "Mon, 03 Mar 2025 09:00:00 +0100"
    message.set_content("\n\n".join(paragraphs(rng, 8)))
    return f"update{i}.eml", message.as_bytes()


def scan_page(rng: random.Random) -> Any:
    """An A4 page at 300 dpi (2480 × 3508) with 25 lines of 40-pixel text."""
    from PIL import Image, ImageDraw

    from tests.knowledge.scans import font

    page = Image.new("L", (2480, 3508), "white")
    draw = ImageDraw.Draw(page)
    for line in range(25):
        text = " ".join(rng.choice(WORDS) for _ in range(8))
        draw.text((200, 250 + line * 120), text, font=font(40), fill="black")
    return page


def make_png(i: int, rng: random.Random) -> tuple[str, bytes]:
    out = io.BytesIO()
    scan_page(rng).save(out, "PNG")
    return f"scan{i}.png", out.getvalue()


def make_scanned_pdf(i: int, rng: random.Random) -> tuple[str, bytes]:
    pages = [scan_page(rng).convert("RGB") for _ in range(2)]
    out = io.BytesIO()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=300)
    return f"scanned{i}.pdf", out.getvalue()


MAKERS: dict[str, Maker] = {
    "md": make_md,
    "html": make_html,
    "csv": make_csv,
    "docx": make_docx,
    "pdf": make_pdf,
    "xlsx": make_xlsx,
    "pptx": make_pptx,
    "eml": make_eml,
    "png (OCR)": make_png,
    "scanned pdf (OCR)": make_scanned_pdf,
}
OCR_FORMATS = {"png (OCR)", "scanned pdf (OCR)"}


def supported(files: list[tuple[str, bytes]]) -> bool:
    from apps.knowledge.extract import DOCUMENT_MIME_TYPES

    try:
        return detect_mime_type(files[0][1], files[0][0]) in DOCUMENT_MIME_TYPES
    except Exception:
        return False


def extraction(files: list[tuple[str, bytes]]) -> dict[str, float]:
    """The files through the extraction child, one after another, as the worker does."""
    options = extract_options()
    pages = 0
    started = time.perf_counter()
    for name, data in files:
        mime = detect_mime_type(data, name)
        extracted = extract_isolated(
            data,
            mime,
            timeout=extraction_timeout(mime),
            memory_mb=settings.EXTRACT_MEMORY_MB,
            options=options,
        )
        pages += max(1, len(extracted.pages))
    seconds = time.perf_counter() - started
    megabytes = sum(len(data) for _, data in files) / 1e6
    return {
        "documents": len(files),
        "pages": pages,  # a document without page spans counts as one
        "seconds": round(seconds, 2),
        "docs_per_s": round(len(files) / seconds, 2),
        "pages_per_s": round(pages / seconds, 2),
        "mb_per_s": round(megabytes / seconds, 2),
    }


def pipeline(files: list[tuple[str, bytes]], knowledge_base: KnowledgeBase) -> dict[str, float]:
    """Upload + index_document, each document in turn, through the local provider."""
    started = time.perf_counter()
    ids = []
    for name, data in files:
        ids += [
            o.document.pk
            for o in add_upload(knowledge_base=knowledge_base, filename=name, data=data)
            if o.document
        ]
    outcomes = [index_document(document_id=pk).outcome for pk in ids]
    seconds = time.perf_counter() - started
    chunks = Chunk.objects.filter(document_id__in=ids).count()
    return {
        "documents": len(ids),
        "indexed": outcomes.count("indexed"),
        "failed": outcomes.count("failed"),
        "chunks": chunks,
        "seconds": round(seconds, 2),
        "docs_per_s": round(len(ids) / seconds, 2),
        "chunks_per_s": round(chunks / seconds, 1),
    }


def tesseract_version() -> str:
    try:
        result = subprocess.run(
            [settings.OCR_TESSERACT_CMD, "--version"], capture_output=True, timeout=10
        )
    except OSError:
        return "not installed"
    return result.stdout.decode().splitlines()[0] if result.stdout else "unknown"


def warm_up(knowledge_base: KnowledgeBase) -> None:
    """Start the extraction child and load the embedding model before anything is timed."""
    pipeline([make_md(0, random.Random(0))], knowledge_base)
    knowledge_base.delete()


def run(
    *, per_format: int, ocr_docs: int, fresh_base: Callable[[str], KnowledgeBase]
) -> dict[str, Any]:
    """Every format: extraction alone, then the whole pipeline into a fresh base."""
    rng = random.Random(13)
    warm_up(fresh_base("bench-format-warm-up"))
    load_before = os.getloadavg()
    formats: dict[str, Any] = {}
    for label, maker in MAKERS.items():
        count = ocr_docs if label in OCR_FORMATS else per_format
        files = [maker(i, rng) for i in range(count)]
        if not supported(files):
            print(f"{label:>18}: skipped (no extractor in this checkout)")
            continue
        extract_only = extraction(files)
        full = pipeline(files, fresh_base(f"bench-format-{label}"))
        formats[label] = {"extraction": extract_only, "pipeline": full}
        print(
            f"{label:>18}: {count} docs, {extract_only['pages']} pages; extraction "
            f"{extract_only['docs_per_s']} docs/s = {extract_only['pages_per_s']} pages/s "
            f"({extract_only['mb_per_s']} MB/s); pipeline {full['docs_per_s']} docs/s, "
            f"{full['chunks_per_s']} chunks/s ({full['indexed']} indexed, {full['failed']} failed)",
            flush=True,
        )
    for label in MAKERS:
        KnowledgeBase.objects.filter(name=f"bench-format-{label}").delete()
    return {
        "formats": formats,
        "ocr": {
            "languages": settings.OCR_LANGUAGES,
            "dpi": settings.OCR_DPI,
            "tesseract": tesseract_version(),
            "page": "A4 at 300 dpi, 25 lines of 40 px text",
        },
        "documents_per_text_format": per_format,
        "documents_per_ocr_format": ocr_docs,
        "machine": f"{os.cpu_count()} cores",
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
