"""What staff add to a knowledge base: files (archives expanded), URLs; and deletion.

Every upload is checked (size, type from the content) before anything is stored; a stored
document is queued (``queue``) and indexed by a worker (``indexing``). Identical content is
never stored twice; new content under the name of an existing file is a new version of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from apps.knowledge.cleaning import clean_line, clean_text
from apps.knowledge.errors import ExtractionError
from apps.knowledge.extract import MIME_ZIP, SUPPORTED_MIME_TYPES, detect_mime_type
from apps.knowledge.fetch import parse_target
from apps.knowledge.formats import ArchiveLimits, expand_zip
from apps.knowledge.mail import MailLimits
from apps.knowledge.mailkind import MAIL_MIME_TYPES
from apps.knowledge.mailtext import mail_attachments
from apps.knowledge.mediakind import MEDIA_MIME_TYPES
from apps.knowledge.models import Document, KnowledgeBase, sha256_hex
from apps.knowledge.queue import enqueue_indexing

MAX_URL_CHARS = 2000  # Document.source_url


class UploadRejected(Exception):
    """An upload refused before anything is stored; the message is for the user."""


@dataclass(frozen=True)
class UploadOutcome:
    """What became of one uploaded item (a file, an archive member, or a URL)."""

    name: str
    document: Document | None
    error: str = ""
    duplicate: bool = False


def largest_upload_bytes() -> int:
    """What any upload may weigh before its type is known (recordings may weigh more)."""
    return max(settings.MAX_UPLOAD_BYTES, settings.RECORDING_MAX_UPLOAD_BYTES)


def validate_upload(*, data: bytes, filename: str) -> str:
    """Check size and content type of an upload; return its MIME type."""
    if not data:
        raise UploadRejected(f"{filename} is empty.")
    largest = largest_upload_bytes()
    if len(data) > largest:
        raise UploadRejected(f"{filename} is {len(data):,} bytes; the limit is {largest:,} bytes.")
    try:
        mime_type = detect_mime_type(data, filename)
    except ExtractionError as exc:
        raise UploadRejected(f"{filename}: {exc}") from exc
    limit = (
        settings.RECORDING_MAX_UPLOAD_BYTES
        if mime_type in MEDIA_MIME_TYPES
        else settings.MAX_UPLOAD_BYTES
    )
    if len(data) > limit:
        raise UploadRejected(f"{filename} is {len(data):,} bytes; the limit is {limit:,} bytes.")
    if mime_type not in SUPPORTED_MIME_TYPES:
        raise UploadRejected(f"{filename}: unsupported type {mime_type}.")
    return mime_type


def title_from_name(name: str) -> str:
    """The uploaded name, kept only as a title (storage names are generated)."""
    cleaned = clean_line(name.replace("\\", "/")) or "untitled"
    return cleaned[:500]


def add_file_document(
    *,
    knowledge_base: KnowledgeBase,
    filename: str,
    data: bytes,
    title: str = "",
    parent: Document | None = None,
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
            knowledge_base=knowledge_base,
            title=title,
            source_kind=Document.SourceKind.FILE,
            parent=parent,  # the e-mail an attachment came with
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


def add_upload(
    *,
    knowledge_base: KnowledgeBase,
    filename: str,
    data: bytes,
    parent: Document | None = None,
    depth: int = 0,
) -> list[UploadOutcome]:
    """One uploaded file: a document, or for a ZIP archive one document per member; an
    e-mail's attachments become documents of their own (``parent``: the e-mail)."""
    try:
        mime_type = validate_upload(data=data, filename=filename)
        if mime_type != MIME_ZIP:
            return _add_one(knowledge_base, filename, data, parent, depth)
        members = expand_zip(data, archive_limits())
    except (UploadRejected, ExtractionError) as exc:
        return [UploadOutcome(filename, None, str(exc))]
    outcomes: list[UploadOutcome] = []
    for member in members:
        name = f"{filename}/{member.path}"
        outcomes += _add_one(knowledge_base, name, member.data, parent, depth)
    return outcomes


def _add_one(
    knowledge_base: KnowledgeBase, name: str, data: bytes, parent: Document | None, depth: int
) -> list[UploadOutcome]:
    digest = sha256_hex(data)
    existed = Document.objects.filter(knowledge_base=knowledge_base, sha256=digest).exists()
    try:
        document = add_file_document(
            knowledge_base=knowledge_base, filename=name, data=data, parent=parent
        )
    except UploadRejected as exc:
        return [UploadOutcome(name, None, str(exc))]
    outcomes = [UploadOutcome(name, document, duplicate=existed)]
    if document.mime_type in MAIL_MIME_TYPES:
        outcomes += _add_attachments(knowledge_base, name, data, document, depth)
    return outcomes


def mail_limits() -> MailLimits:
    return MailLimits(
        max_depth=settings.MAIL_MAX_DEPTH,
        max_parts=settings.MAIL_MAX_PARTS,
        max_attachments=settings.MAIL_MAX_ATTACHMENTS,
        max_attachment_bytes=settings.ARCHIVE_MAX_EXPANDED_BYTES,
    )


def _add_attachments(
    knowledge_base: KnowledgeBase, name: str, data: bytes, email: Document, depth: int
) -> list[UploadOutcome]:
    """Each attachment of a supported type: a document of its own, linked to its e-mail,
    split off now like an archive's members (the same e-mail again adds nothing new)."""
    if depth >= settings.MAIL_MAX_DEPTH:
        reason = f"e-mails nested deeper than {settings.MAIL_MAX_DEPTH} levels are not expanded."
        return [UploadOutcome(name, None, f"{name}: {reason}")]
    try:
        attachments, notes = mail_attachments(data, email.mime_type, mail_limits())
    except ExtractionError:
        return []  # the e-mail itself fails when it is indexed, with the reason
    outcomes = [UploadOutcome(name, None, f"{name}: {note}") for note in notes]
    for attachment in attachments:
        outcomes += add_upload(
            knowledge_base=knowledge_base,
            filename=f"{name}/{attachment.name}",
            data=attachment.data,
            parent=email,
            depth=depth + 1,
        )
    return outcomes


def add_url_document(*, knowledge_base: KnowledgeBase, url: str) -> UploadOutcome:
    """Queue a web page; it is fetched by the worker (with the address checks) when indexed."""
    url = clean_text(url).strip()
    if len(url) > MAX_URL_CHARS:
        return UploadOutcome(
            url[:100] + "…", None, f"URLs longer than {MAX_URL_CHARS:,} characters are not added."
        )
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
        largest = largest_upload_bytes()  # the type's own limit: validate_upload
        if upload.size is not None and upload.size > largest:
            message = f"{name} is {upload.size:,} bytes; the limit is {largest:,}."
            outcomes.append(UploadOutcome(name, None, message))
            continue
        outcomes += add_upload(knowledge_base=knowledge_base, filename=name, data=upload.read())
    outcomes += [add_url_document(knowledge_base=knowledge_base, url=url) for url in urls]
    return outcomes


def delete_document(*, document: Document) -> None:
    """Remove a document and the documents found in it (an e-mail's attachments); their
    chunks go in the same transaction, their files after commit."""
    storage = document.file.storage
    names = [name for name in [document.file.name, *_part_files(document)] if name]
    with transaction.atomic():
        document.delete()
        for name in names:
            transaction.on_commit(partial(storage.delete, name))


def _part_files(document: Document) -> list[str]:
    names: list[str] = []
    parents = [document.pk]
    while parents:
        parts = list(Document.objects.filter(parent__in=parents).values_list("pk", "file"))
        names += [file for _, file in parts]
        parents = [pk for pk, _ in parts]
    return names
