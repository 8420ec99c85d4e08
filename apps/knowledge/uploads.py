"""What staff add to a knowledge base: files (archives expanded), URLs; and deletion.

Every upload is checked (size, type from the content) before anything is stored; a stored
document is queued (``queue``) and indexed by a worker (``indexing``). Identical content is
never stored twice; new content under the name of an existing file is a new version of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from apps.knowledge.errors import ExtractionError
from apps.knowledge.extract import MIME_ZIP, SUPPORTED_MIME_TYPES, detect_mime_type
from apps.knowledge.fetch import parse_target
from apps.knowledge.formats import ArchiveLimits, expand_zip
from apps.knowledge.models import Document, KnowledgeBase, sha256_hex
from apps.knowledge.queue import enqueue_indexing


class UploadRejected(Exception):
    """An upload refused before anything is stored; the message is for the user."""


@dataclass(frozen=True)
class UploadOutcome:
    """What became of one uploaded item (a file, an archive member, or a URL)."""

    name: str
    document: Document | None
    error: str = ""
    duplicate: bool = False


def validate_upload(*, data: bytes, filename: str) -> str:
    """Check size and content type of an upload; return its MIME type."""
    if not data:
        raise UploadRejected(f"{filename} is empty.")
    if len(data) > settings.MAX_UPLOAD_BYTES:
        raise UploadRejected(
            f"{filename} is {len(data):,} bytes; the limit is {settings.MAX_UPLOAD_BYTES:,} bytes."
        )
    try:
        mime_type = detect_mime_type(data, filename)
    except ExtractionError as exc:
        raise UploadRejected(f"{filename}: {exc}") from exc
    if mime_type not in SUPPORTED_MIME_TYPES:
        raise UploadRejected(f"{filename}: unsupported type {mime_type}.")
    return mime_type


def title_from_name(name: str) -> str:
    """The uploaded name, kept only as a title (storage names are generated)."""
    cleaned = " ".join(name.replace("\x00", "").replace("\\", "/").split()) or "untitled"
    return cleaned[:500]


def add_file_document(
    *, knowledge_base: KnowledgeBase, filename: str, data: bytes, title: str = ""
) -> Document:
    """Store one file as a queued document and enqueue its ingestion on commit.

    The same content already in the knowledge base returns that document (nothing is
    embedded again); different content under the title of an existing file document
    is a new version of it: its chunks are replaced once the new version is indexed.
    """
    mime_type = validate_upload(data=data, filename=filename)
    if mime_type == MIME_ZIP:
        raise UploadRejected(f"{filename}: nested archives are not expanded.")
    digest = sha256_hex(data)
    existing = Document.objects.filter(knowledge_base=knowledge_base, sha256=digest).first()
    if existing is not None:
        return existing
    title = title_from_name(title or filename)
    document = Document.objects.filter(
        knowledge_base=knowledge_base, source_kind=Document.SourceKind.FILE, title=title
    ).first()
    old_file = document.file.name if document is not None and document.file else ""
    if document is None:
        document = Document(
            knowledge_base=knowledge_base, title=title, source_kind=Document.SourceKind.FILE
        )
    document.mime_type = mime_type
    document.sha256 = digest
    document.reset_for_indexing()
    stored_name = PurePosixPath(filename.replace("\\", "/")).name or "file"
    document.file.save(stored_name, ContentFile(data), save=False)
    document.save()
    if old_file:
        storage = document.file.storage
        transaction.on_commit(lambda: storage.delete(old_file))
    enqueue_indexing(document_id=document.pk)
    return document


def archive_limits() -> ArchiveLimits:
    return ArchiveLimits(
        max_members=settings.ARCHIVE_MAX_MEMBERS,
        max_expanded_bytes=settings.ARCHIVE_MAX_EXPANDED_BYTES,
        max_member_bytes=settings.MAX_UPLOAD_BYTES,
    )


def add_upload(*, knowledge_base: KnowledgeBase, filename: str, data: bytes) -> list[UploadOutcome]:
    """One uploaded file: a document, or for a ZIP archive one document per member."""
    try:
        mime_type = validate_upload(data=data, filename=filename)
        if mime_type != MIME_ZIP:
            return [_add_one(knowledge_base, filename, data)]
        members = expand_zip(data, archive_limits())
    except (UploadRejected, ExtractionError) as exc:
        return [UploadOutcome(filename, None, str(exc))]
    return [
        _add_one(knowledge_base, f"{filename}/{member.path}", member.data) for member in members
    ]


def _add_one(knowledge_base: KnowledgeBase, name: str, data: bytes) -> UploadOutcome:
    digest = sha256_hex(data)
    existed = Document.objects.filter(knowledge_base=knowledge_base, sha256=digest).exists()
    try:
        document = add_file_document(knowledge_base=knowledge_base, filename=name, data=data)
    except UploadRejected as exc:
        return UploadOutcome(name, None, str(exc))
    return UploadOutcome(name, document, duplicate=existed)


def add_url_document(*, knowledge_base: KnowledgeBase, url: str) -> UploadOutcome:
    """Queue a web page; it is fetched by the worker (with the address checks) when indexed."""
    url = url.strip()
    try:
        parse_target(url)
    except ExtractionError as exc:
        return UploadOutcome(url, None, str(exc))
    existing = Document.objects.filter(knowledge_base=knowledge_base, source_url=url).first()
    if existing is not None:
        return UploadOutcome(url, existing, duplicate=True)
    document = Document.objects.create(
        knowledge_base=knowledge_base,
        title=url[:500],
        source_kind=Document.SourceKind.URL,
        source_url=url,
        mime_type="",
    )
    enqueue_indexing(document_id=document.pk)
    return UploadOutcome(url, document)


def add_batch(
    *, knowledge_base: KnowledgeBase, files: Sequence[UploadedFile[Any]], urls: Sequence[str]
) -> list[UploadOutcome]:
    """One submission of the upload form (or the API): any number of files, each checked, and
    URLs (blank lines ignored), within the per-upload limits; an outcome for every item."""
    urls = [url.strip() for url in urls if url.strip()]
    outcomes: list[UploadOutcome] = []
    if len(files) > settings.MAX_FILES_PER_UPLOAD:
        message = f"At most {settings.MAX_FILES_PER_UPLOAD} files at once."
        outcomes.append(UploadOutcome("upload", None, message))
        files = []
    if len(urls) > settings.MAX_URLS_PER_UPLOAD:
        message = f"At most {settings.MAX_URLS_PER_UPLOAD} URLs at once."
        outcomes.append(UploadOutcome("urls", None, message))
        urls = []
    for upload in files:
        name = upload.name or "file"
        if upload.size is not None and upload.size > settings.MAX_UPLOAD_BYTES:
            message = (
                f"{name} is {upload.size:,} bytes; the limit is {settings.MAX_UPLOAD_BYTES:,}."
            )
            outcomes.append(UploadOutcome(name, None, message))
            continue
        outcomes += add_upload(knowledge_base=knowledge_base, filename=name, data=upload.read())
    outcomes += [add_url_document(knowledge_base=knowledge_base, url=url) for url in urls]
    return outcomes


def delete_document(*, document: Document) -> None:
    """Remove a document; its chunks go in the same transaction, its file after commit."""
    storage, name = document.file.storage, document.file.name
    with transaction.atomic():
        document.delete()
        if name:
            transaction.on_commit(lambda: storage.delete(name))
