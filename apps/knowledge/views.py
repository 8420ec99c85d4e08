from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from apps.knowledge.models import Document
from apps.search.permissions import readable_knowledge_bases


def _readable_document(request: HttpRequest, pk: int) -> Document:
    """The document, only if the user may read its knowledge base (404 otherwise)."""
    return get_object_or_404(
        Document.objects.select_related("knowledge_base"),
        pk=pk,
        knowledge_base__in=readable_knowledge_bases(request.user),
    )


@login_required
def document_detail(request: HttpRequest, pk: int) -> HttpResponse:
    document = _readable_document(request, pk)
    return render(
        request,
        "knowledge/document_detail.html",
        {"document": document, "chunks": document.chunks.order_by("ordinal")},
    )


@login_required
def document_file(request: HttpRequest, pk: int) -> FileResponse:
    """The original upload. Only PDFs are shown inline; anything else is a plain download,
    so an uploaded HTML page can never run in our origin."""
    document = _readable_document(request, pk)
    if not document.file:
        raise Http404("This document has no stored file.")
    inline = document.mime_type == "application/pdf"
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=not inline,
        filename=document.title or "document",
        content_type="application/pdf" if inline else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    if not inline:
        response["Content-Security-Policy"] = "sandbox"
    return response
