"""Indexing one document: read or fetch → extract (isolated) → chunk → embed → store.

Failures are recorded on the row: a bad file fails the document with a readable
reason; a model-server failure that may pass schedules a later retry. New chunks
replace old ones in one transaction, so answers never see a half-updated document.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Literal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import InterfaceError, OperationalError, transaction

from apps.knowledge.chunking import SECTION_MAX_CHARS, ChunkDraft, chunk_text
from apps.knowledge.cleaning import clean_extracted
from apps.knowledge.embedding import embed_inputs, embedding_input
from apps.knowledge.errors import ExtractionError
from apps.knowledge.extract import (
    MIME_HTML,
    MIME_PDF,
    MIME_ZIP,
    Extracted,
    ExtractOptions,
    detect_mime_type,
)
from apps.knowledge.fetch import fetch_url
from apps.knowledge.formats_image import IMAGE_MIME_TYPES
from apps.knowledge.mailkind import MAIL_MIME_TYPES
from apps.knowledge.mediakind import MEDIA_MIME_TYPES
from apps.knowledge.models import (
    VECTOR_DIMENSIONS,
    Chunk,
    ChunkLexemes,
    Document,
    KnowledgeBase,
    sha256_hex,
)
from apps.knowledge.ocr import OcrOptions
from apps.knowledge.queue import claim_document, enqueue_indexing
from apps.knowledge.sandbox import extract_isolated
from apps.knowledge.transcripts import transcribe_recording, with_times
from apps.modelapi.client import embeddings_endpoint
from apps.modelapi.errors import ModelApiError

logger = logging.getLogger(__name__)

Outcome = Literal["indexed", "unchanged", "failed", "not_claimed", "retry_scheduled", "superseded"]


class Superseded(Exception):
    """A newer version was uploaded while this one was being indexed: drop this result."""


@dataclass(frozen=True)
class IngestResult:
    outcome: Outcome
    chunk_count: int = 0


def retry_delay_seconds(attempt: int) -> float:
    """30 s, 60 s, 120 s, … capped at 10 minutes: long enough for a model server to recover."""
    return float(min(settings.INGEST_RETRY_BASE_SECONDS * 2 ** max(attempt - 1, 0), 600))


def schedule_retry(document: Document, error: ModelApiError) -> IngestResult:
    """A model-server failure that may pass: queue the document again, or fail it for good."""
    if not error.retryable or document.attempts >= settings.INGEST_MAX_ATTEMPTS:
        doing = "Transcription" if document.stage == Document.Stage.TRANSCRIBING else "Embedding"
        document.mark_failed(f"{doing} failed: {error.user_message} ({error})")
        return IngestResult("failed")
    delay = retry_delay_seconds(document.attempts)
    document.mark_waiting(f"Will retry in {delay:.0f} s: {error.user_message}")
    enqueue_indexing(document_id=document.pk, delay_seconds=delay)
    return IngestResult("retry_scheduled")


def fetch_page(document: Document) -> bytes:
    """Fetch a URL document now (every hop checked) and keep the page as its file."""
    document.set_progress(Document.Stage.FETCHING)
    fetched = fetch_url(
        document.source_url,
        max_bytes=settings.URL_FETCH_MAX_BYTES,
        timeout=settings.URL_FETCH_TIMEOUT_SECONDS,
        max_redirects=settings.URL_FETCH_MAX_REDIRECTS,
        allowed_private=frozenset(settings.URL_FETCH_ALLOWED_PRIVATE_HOSTS),
    )
    if "html" in fetched.content_type or not fetched.content_type:
        document.mime_type = MIME_HTML
    else:
        document.mime_type = detect_mime_type(fetched.data, fetched.url)
    if document.mime_type == MIME_ZIP:
        raise ExtractionError("The URL points to an archive; upload it as a file instead.")
    document.file.save("page.html", ContentFile(fetched.data), save=False)
    document.save(update_fields=["file", "mime_type", "updated_at"])
    return fetched.data


def read_content(document: Document, *, stored_page: bool = False) -> bytes:
    """The document's bytes: typed text, the stored file, or the page fetched now (unless
    ``stored_page``: a site sync has just fetched it, conditionally, and stored it)."""
    if document.source_kind == Document.SourceKind.TEXT:
        return document.text.encode("utf-8")
    if document.source_kind == Document.SourceKind.URL and not (stored_page and document.file):
        return fetch_page(document)
    with document.file.open("rb") as handle:
        return bytes(handle.read())


def extract_options() -> ExtractOptions:
    """The extractors' limits and settings, for the child process that has no settings."""
    return ExtractOptions(
        max_expanded_bytes=settings.ARCHIVE_MAX_EXPANDED_BYTES,
        spreadsheet_max_rows=settings.SPREADSHEET_MAX_ROWS,
        spreadsheet_max_cells=settings.SPREADSHEET_MAX_CELLS,
        office_max_parts=settings.OFFICE_MAX_PARTS,
        mail_max_depth=settings.MAIL_MAX_DEPTH,
        mail_max_parts=settings.MAIL_MAX_PARTS,
        mail_max_attachments=settings.MAIL_MAX_ATTACHMENTS,
        ocr=ocr_options(),
    )


def ocr_options() -> OcrOptions:
    return OcrOptions(
        languages=settings.OCR_LANGUAGES,
        dpi=settings.OCR_DPI,
        max_pages=settings.OCR_MAX_PAGES,
        max_pixels=settings.OCR_MAX_PIXELS,
        timeout_seconds=settings.OCR_TIMEOUT_SECONDS,
        tesseract_cmd=settings.OCR_TESSERACT_CMD,
    )


def extraction_timeout(mime_type: str) -> float:
    """PDFs and images may need OCR, which has its own budget on top (it runs in the child)."""
    if mime_type == MIME_PDF or mime_type in IMAGE_MIME_TYPES:
        return float(settings.EXTRACT_TIMEOUT_SECONDS + settings.OCR_TIMEOUT_SECONDS)
    return float(settings.EXTRACT_TIMEOUT_SECONDS)


def extract_text(document: Document, data: bytes) -> Extracted:
    """Text with structure, read in the isolated child."""
    document.set_progress(Document.Stage.EXTRACTING)
    return extract_isolated(
        data,
        document.mime_type,
        timeout=extraction_timeout(document.mime_type),
        memory_mb=settings.EXTRACT_MEMORY_MB,
        # A fetched page (URL, site source) keeps its main content only, not the menus.
        options=replace(
            extract_options(), main_content=document.source_kind == Document.SourceKind.URL
        ),
    )


def extract_and_chunk(document: Document, data: bytes) -> list[ChunkDraft]:
    """Text with structure (in the isolated child), cut into chunks; a URL takes its title."""
    if not document.mime_type:
        document.mime_type = detect_mime_type(data, document.file.name or document.title)
    if document.mime_type in MEDIA_MIME_TYPES:
        extracted = transcribe_recording(document, data)  # segments cleaned one by one
    else:
        extracted = clean_extracted(extract_text(document, data))  # no control characters
    drafts = chunk_text(
        extracted,
        target_tokens=settings.CHUNK_TARGET_TOKENS,
        overlap_tokens=settings.CHUNK_OVERLAP_TOKENS,
        max_chars=settings.CHUNK_MAX_CHARS,
    )
    if not drafts:
        raise ExtractionError("No extractable text: the document is empty once read.")
    drafts = with_times(drafts, extracted.times)
    document.page_kind = extracted.page_kind
    document.content = extracted.text
    document.content_pages = [[p.page, p.start, p.end] for p in extracted.pages]
    document.content_times = [
        [t.start, t.end, t.start_seconds, t.end_seconds] for t in extracted.times
    ]
    from_content = document.mime_type in MAIL_MIME_TYPES  # an e-mail's subject is its title
    if extracted.title and (from_content or document.source_kind == Document.SourceKind.URL):
        document.title = " ".join(extracted.title.split())[:500]
    return drafts


def embed_drafts(document: Document, drafts: list[ChunkDraft]) -> list[list[float]]:
    """Embed batch by batch, recording progress (and so the heartbeat) after each."""
    inputs = [embedding_input(title=document.title, heading=d.heading, text=d.text) for d in drafts]
    document.set_progress(Document.Stage.EMBEDDING, 0, len(inputs))
    return embed_inputs(
        inputs,
        progress=lambda done, total: document.set_progress(Document.Stage.EMBEDDING, done, total),
    )


def is_unchanged(document: Document, digest: str, model_name: str) -> bool:
    """Same content, same embedding model, chunks in place: nothing to compute."""
    return (
        digest == document.indexed_sha256
        and model_name == document.indexed_embedding_model
        and document.chunks.exists()
    )


def index_document(*, document_id: int, stored_page: bool = False) -> IngestResult:
    """Index one document. Safe to run twice; failures are recorded on the row.
    ``stored_page``: a URL document is read from the copy a site sync stored, not fetched."""
    if not claim_document(document_id=document_id):
        return IngestResult("not_claimed")
    document = Document.objects.select_related("knowledge_base").get(pk=document_id)
    model_name = embeddings_endpoint().model
    try:
        data = read_content(document, stored_page=stored_page)
        digest = sha256_hex(data)
        if is_unchanged(document, digest, model_name):
            document.mark_ready(
                chunk_count=document.chunks.count(), sha256=digest, embedding_model=model_name
            )
            return IngestResult("unchanged", document.chunk_count)
        drafts = extract_and_chunk(document, data)
        vectors = embed_drafts(document, drafts)
        document.set_progress(Document.Stage.STORING, len(drafts), len(drafts))
        store_chunks(
            document=document, drafts=drafts, vectors=vectors, sha256=digest, model_name=model_name
        )
    except Superseded:
        logger.info("document %s changed while it was indexed; the newer version wins", document_id)
        return IngestResult("superseded")
    except ExtractionError as exc:
        document.mark_failed(str(exc))
        return IngestResult("failed")
    except ModelApiError as exc:
        logger.warning("embedding failed for document %s: %s", document_id, exc)
        return schedule_retry(document, exc)
    except (OperationalError, InterfaceError):
        # The database went away: nothing of this run was committed, and the row cannot be
        # marked now. The worker waits for the server; the sweep queues the document again
        # when its lease runs out (queue.requeue_stale_documents).
        raise
    except Exception as exc:
        logger.exception("indexing of document %s failed", document_id)
        document.mark_failed(f"Internal error while indexing ({type(exc).__name__}).")
        return IngestResult("failed")
    return IngestResult("indexed", len(drafts))


def record_embedding_model(knowledge_base: KnowledgeBase, model_name: str) -> None:
    """The first vectors of a base fix its model; another model's vectors are refused."""
    if not knowledge_base.embedding_model:
        knowledge_base.embedding_model = model_name
        knowledge_base.embedding_dimensions = VECTOR_DIMENSIONS
        knowledge_base.save(update_fields=["embedding_model", "embedding_dimensions"])
    elif knowledge_base.embedding_model != model_name:
        raise ModelApiError(
            f"this knowledge base is indexed with {knowledge_base.embedding_model}, "
            f"not {model_name}; re-embed it first",
            endpoint="embeddings",
            retryable=False,
        )


def store_chunks(
    *,
    document: Document,
    drafts: list[ChunkDraft],
    vectors: list[list[float]],
    sha256: str,
    model_name: str,
) -> None:
    """Replace the document's chunks in one transaction: readers see old or new, never half."""
    with transaction.atomic():
        locked = Document.objects.select_for_update().get(pk=document.pk)
        if locked.source_kind == Document.SourceKind.FILE and locked.sha256 != sha256:
            raise Superseded()
        knowledge_base = KnowledgeBase.objects.select_for_update().get(pk=locked.knowledge_base_id)
        record_embedding_model(knowledge_base, model_name)
        Chunk.objects.filter(document=locked).delete()
        chunks = Chunk.objects.bulk_create(
            Chunk(
                document=locked,
                knowledge_base_id=locked.knowledge_base_id,
                ordinal=draft.ordinal,
                text=draft.text,
                heading=draft.heading[:500],
                section=draft.section[:SECTION_MAX_CHARS],
                char_start=draft.char_start,
                char_end=draft.char_end,
                page=draft.page,
                start_seconds=draft.start_seconds,
                end_seconds=draft.end_seconds,
                token_count=draft.token_count,
                embedding=vector,
            )
            for draft, vector in zip(drafts, vectors, strict=True)
        )
        ChunkLexemes.objects.bulk_create(
            chunk.lexemes(title=document.title, language=knowledge_base.language)
            for chunk in chunks
        )
        locked.title = document.title
        locked.mime_type = document.mime_type
        locked.page_kind = document.page_kind
        locked.content = document.content
        locked.content_pages = document.content_pages
        locked.content_times = document.content_times
        locked.sha256 = sha256
        locked.save(
            update_fields=[
                "title",
                "mime_type",
                "page_kind",
                "content",
                "content_pages",
                "content_times",
                "sha256",
                "updated_at",
            ]
        )
        locked.mark_ready(chunk_count=len(drafts), sha256=sha256, embedding_model=model_name)
