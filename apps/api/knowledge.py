"""Knowledge bases (the readable ones) and their documents (for the staff who manage them).

The browser's rules (``apps.knowledge.views``): documents are listed, added, re-indexed and
deleted only in a knowledge base the user may edit (``editable_by``: superusers all,
other staff their own, and members of its editor groups). A base or document the token's user may not read is not found
(404); one they may read but not manage is refused (403). Uploads go through
``apps.knowledge.uploads`` (the same size, type, archive and URL checks); a URL whose host
resolves to a private or reserved address is refused at once, as for a site source.
"""

from __future__ import annotations

from typing import Annotated

from django.http import HttpRequest
from django.urls import reverse
from ninja import File, Path, Query, Router, UploadedFile

from apps.api.auth import bearer_write, token_user
from apps.api.common import READ_ERRORS, WRITE_ERRORS, PageParams, page_of
from apps.api.errors import ApiError, not_found
from apps.api.schemas import (
    AddUrlIn,
    Deleted,
    DocumentOut,
    DocumentPage,
    Id,
    KnowledgeBaseOut,
    KnowledgeBasePage,
    Queued,
    UploadItem,
    UploadOut,
)
from apps.knowledge.models import Document, KnowledgeBase
from apps.knowledge.queue import request_reindex
from apps.knowledge.uploads import UploadOutcome, add_batch, add_url_document, delete_document
from apps.sources.services import SourceRejected, refuse_private_host

router = Router()

NOT_MANAGER = "You may read this knowledge base but not manage its documents."


def document_out(document: Document) -> DocumentOut:
    return DocumentOut(
        id=document.pk,
        knowledge_base=document.knowledge_base_id,
        title=document.title,
        source_kind=document.source_kind,
        source_url=document.source_url,
        mime_type=document.mime_type,
        status=document.status,
        stage=document.stage,
        percent=document.progress_percent,
        chunks=document.chunk_count,
        error=document.error,
        created_at=document.created_at,
        updated_at=document.updated_at,
        url=reverse("knowledge:document", args=[document.pk]),
    )


def _item(outcome: UploadOutcome) -> UploadItem:
    document = document_out(outcome.document) if outcome.document else None
    return UploadItem(
        name=outcome.name, error=outcome.error, duplicate=outcome.duplicate, document=document
    )


def managed_base(request: HttpRequest, pk: int) -> KnowledgeBase:
    """The base if the user may edit it; 404 when they may not read it, 403 when only read."""
    user = token_user(request)
    base = KnowledgeBase.objects.editable_by(user).filter(pk=pk).first()
    if base is not None:
        return base
    if KnowledgeBase.objects.readable_by(user).filter(pk=pk).exists():
        raise ApiError(403, NOT_MANAGER, code="not_manager")
    raise not_found("No knowledge base with this id that you may read.")


def managed_document(request: HttpRequest, pk: int) -> Document:
    """The document if the user may edit its base; 404 when unreadable, 403 when only read."""
    user = token_user(request)
    managed = KnowledgeBase.objects.editable_by(user)
    document = Document.objects.filter(pk=pk, knowledge_base__in=managed).first()
    if document is not None:
        return document
    readable = KnowledgeBase.objects.readable_by(user)
    if Document.objects.filter(pk=pk, knowledge_base__in=readable).exists():
        raise ApiError(403, NOT_MANAGER, code="not_manager")
    raise not_found("No document with this id that you may read.")


@router.get(
    "/knowledge-bases",
    response={200: KnowledgeBasePage, **READ_ERRORS},
    url_name="knowledge_bases",
    summary="The knowledge bases you may read",
)
def list_knowledge_bases(request: HttpRequest, params: Query[PageParams]) -> KnowledgeBasePage:
    user = token_user(request)
    manageable = set(KnowledgeBase.objects.editable_by(user).values_list("pk", flat=True))
    items, count = page_of(KnowledgeBase.objects.readable_by(user), params)
    return KnowledgeBasePage(
        items=[
            KnowledgeBaseOut(
                id=kb.pk,
                name=kb.name,
                description=kb.description,
                instructions=kb.instructions,
                shared_with_all=kb.shared_with_all,
                manageable=kb.pk in manageable,
                created_at=kb.created_at,
            )
            for kb in items
        ],
        count=count,
        limit=params.limit,
        offset=params.offset,
    )


@router.get(
    "/knowledge-bases/{knowledge_base_id}/documents",
    response={200: DocumentPage, **READ_ERRORS, 403: READ_ERRORS[404]},
    url_name="documents",
    summary="The documents of a knowledge base you manage",
)
def list_documents(
    request: HttpRequest, knowledge_base_id: Path[Id], params: Query[PageParams]
) -> DocumentPage:
    """Newest first, with each document's indexing status."""
    base = managed_base(request, knowledge_base_id)
    items, count = page_of(base.documents.order_by("-created_at", "-pk"), params)
    return DocumentPage(
        items=[document_out(d) for d in items],
        count=count,
        limit=params.limit,
        offset=params.offset,
    )


@router.post(
    "/knowledge-bases/{knowledge_base_id}/documents",
    response={200: UploadOut, **WRITE_ERRORS},
    auth=bearer_write,
    summary="Upload files (multipart)",
)
def upload_documents(
    request: HttpRequest,
    knowledge_base_id: Path[Id],
    files: Annotated[list[UploadedFile], File(min_length=1)],
) -> UploadOut:
    """Each file is checked (size, type from its content; ZIP archives are expanded) and
    queued for indexing; ``items`` says what became of each one, with the reason for any
    file that was refused."""
    base = managed_base(request, knowledge_base_id)
    outcomes = add_batch(knowledge_base=base, files=files, urls=[])
    return UploadOut(items=[_item(o) for o in outcomes])


@router.post(
    "/knowledge-bases/{knowledge_base_id}/urls",
    response={200: UploadItem, **WRITE_ERRORS},
    auth=bearer_write,
    url_name="add_url",
    summary="Add a web page by its URL",
)
def add_url(request: HttpRequest, knowledge_base_id: Path[Id], body: AddUrlIn) -> UploadItem:
    """The page is fetched and indexed by the worker; an http(s) URL on a public address only."""
    base = managed_base(request, knowledge_base_id)
    try:
        refuse_private_host(body.url.strip())
    except SourceRejected as exc:
        raise ApiError(400, str(exc), code="url_refused") from exc
    outcome = add_url_document(knowledge_base=base, url=body.url)
    if outcome.error:
        raise ApiError(400, outcome.error, code="url_refused")
    return _item(outcome)


@router.get(
    "/documents/{document_id}",
    response={200: DocumentOut, **READ_ERRORS, 403: READ_ERRORS[404]},
    url_name="document",
    summary="A document's indexing status",
)
def document_status(request: HttpRequest, document_id: Path[Id]) -> DocumentOut:
    return document_out(managed_document(request, document_id))


@router.delete(
    "/documents/{document_id}",
    response={200: Deleted, **WRITE_ERRORS},
    auth=bearer_write,
    summary="Delete a document (and the documents found in it)",
)
def delete(request: HttpRequest, document_id: Path[Id]) -> Deleted:
    delete_document(document=managed_document(request, document_id))
    return Deleted(id=document_id)


@router.post(
    "/documents/{document_id}/reindex",
    response={200: Queued, **WRITE_ERRORS},
    auth=bearer_write,
    url_name="reindex",
    summary="Index a document again",
)
def reindex(request: HttpRequest, document_id: Path[Id]) -> Queued:
    """From its stored content; a web page is fetched again."""
    document = managed_document(request, document_id)
    request_reindex(document=document)
    return Queued(document=document_out(document))
