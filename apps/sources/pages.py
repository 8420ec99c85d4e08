"""What one fetched page does to its document: nothing (unchanged), a new version, a new
document, or removal. Each change is its own short transaction; indexing is queued after
commit and reads the stored copy (no second fetch).

A changed page's old chunks stay searchable until the new version is indexed:
``indexing.store_chunks`` swaps a document's chunks in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from apps.knowledge.errors import ExtractionError
from apps.knowledge.extract import MIME_HTML, MIME_ZIP, detect_mime_type
from apps.knowledge.fetch import Fetched
from apps.knowledge.models import Document, sha256_hex
from apps.knowledge.uploads import delete_document
from apps.sources.models import SitePage, SiteSource
from apps.sources.scheduling import enqueue_page_indexing

# The fields a new version resets (as ``Document.reset_for_indexing`` would, but keeping
# ``indexed_sha256``: the stored chunks are still those of the old version).
_NEW_VERSION_FIELDS = [
    "file",
    "mime_type",
    "sha256",
    "status",
    "error",
    "stage",
    "progress_done",
    "progress_total",
    "attempts",
    "updated_at",
]


@dataclass(frozen=True)
class Applied:
    change: str  # "added" | "updated" | "unchanged"
    body: bytes  # the page's content (the stored copy when the server said 304)
    mime_type: str


def page_mime_type(fetched: Fetched) -> str:
    """HTML by its Content-Type, anything else from its content (PDFs, text); archives and
    binaries are refused with the reason."""
    if "html" in fetched.content_type.lower() or not fetched.content_type:
        return MIME_HTML
    mime = detect_mime_type(fetched.data, fetched.url)
    if mime == MIME_ZIP:
        raise ExtractionError(f"{fetched.url} is an archive; upload it as a file instead.")
    return mime


def apply_fetched(
    *, source: SiteSource, url: str, page: SitePage | None, fetched: Fetched
) -> Applied:
    if page is not None and fetched.not_modified:
        mark_checked(page, fetched)
        return Applied("unchanged", stored_copy(page.document), page.document.mime_type)
    mime = page_mime_type(fetched)
    digest = sha256_hex(fetched.data)
    if page is None:
        add_page(source=source, url=url, fetched=fetched, mime_type=mime, digest=digest)
        return Applied("added", fetched.data, mime)
    if digest == page.document.sha256:
        mark_checked(page, fetched)
        return Applied("unchanged", fetched.data, mime)
    new_version(page=page, fetched=fetched, mime_type=mime, digest=digest)
    return Applied("updated", fetched.data, mime)


def stored_copy(document: Document) -> bytes:
    if not document.file:
        return b""
    with document.file.open("rb") as handle:
        return bytes(handle.read())


def mark_checked(page: SitePage, fetched: Fetched) -> None:
    page.etag = fetched.etag or page.etag
    page.last_modified = fetched.last_modified or page.last_modified
    page.missing_syncs = 0
    page.error = ""
    page.checked_at = timezone.now()
    page.save(update_fields=["etag", "last_modified", "missing_syncs", "error", "checked_at"])


def add_page(
    *, source: SiteSource, url: str, fetched: Fetched, mime_type: str, digest: str
) -> SitePage:
    with transaction.atomic():
        document = Document.objects.create(
            knowledge_base_id=source.knowledge_base_id,
            title=url[:500],
            source_kind=Document.SourceKind.URL,
            source_url=url,
            mime_type=mime_type,
            sha256=digest,
            file=ContentFile(fetched.data, name="page.html"),
        )
        page = SitePage.objects.create(
            source=source,
            document=document,
            url=url,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            checked_at=timezone.now(),
        )
        enqueue_page_indexing(document_id=document.pk)
    return page


def new_version(*, page: SitePage, fetched: Fetched, mime_type: str, digest: str) -> None:
    """The new content is stored and queued; the old chunks answer until it is indexed."""
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=page.document_id)
        storage, old_name = document.file.storage, document.file.name
        document.file.save("page.html", ContentFile(fetched.data), save=False)
        document.mime_type, document.sha256 = mime_type, digest
        document.status, document.error = Document.Status.QUEUED, ""
        document.stage = Document.Stage.NONE
        document.progress_done = document.progress_total = document.attempts = 0
        document.save(update_fields=_NEW_VERSION_FIELDS)
        mark_checked(page, fetched)
        enqueue_page_indexing(document_id=document.pk)
        if old_name:
            transaction.on_commit(lambda: storage.delete(old_name))
    page.document = document


def record_gone(page: SitePage, reason: str) -> bool:
    """One more sync that found the page gone; True when it was removed (two in a row)."""
    page.missing_syncs += 1
    if page.missing_syncs >= 2:
        remove_page(page)
        return True
    page.error = f"{reason} Removed if it is still gone at the next sync."
    page.checked_at = timezone.now()
    page.save(update_fields=["missing_syncs", "error", "checked_at"])
    return False


def record_error(page: SitePage, reason: str) -> None:
    page.error = reason[:2000]
    page.checked_at = timezone.now()
    page.save(update_fields=["error", "checked_at"])


def remove_page(page: SitePage) -> None:
    """The page's document goes, with its chunks and stored copy (the page row with it)."""
    delete_document(document=page.document)
