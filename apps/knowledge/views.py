from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from apps.knowledge import viewing
from apps.knowledge.errors import ExtractionError
from apps.knowledge.extract import ACCEPTED_SUFFIXES
from apps.knowledge.forms import NewKnowledgeBaseForm, SettingsForm, SharingForm
from apps.knowledge.models import Document, KnowledgeBase
from apps.knowledge.queue import enqueue_relexing, request_reindex
from apps.knowledge.ranged import ranged_file_response
from apps.knowledge.uploads import UploadOutcome, add_batch, delete_document


def _readable_document(request: HttpRequest, pk: int, *, content: bool = False) -> Document:
    """The document, only if the user may read its knowledge base (404 otherwise); its
    extracted text is read only when ``content`` is asked for (the viewer's text view)."""
    documents = Document.objects.select_related("knowledge_base")
    return get_object_or_404(
        documents if content else documents.without_content(),
        pk=pk,
        knowledge_base__in=KnowledgeBase.objects.readable_by(request.user),
    )


def _managed_base(request: HttpRequest, pk: int) -> KnowledgeBase:
    """A base whose settings and sharing the user may change (owner, superuser)."""
    return get_object_or_404(KnowledgeBase.objects.manageable_by(request.user), pk=pk)


def _edited_base(request: HttpRequest, pk: int) -> KnowledgeBase:
    """A base whose documents the user may change (its managers and editor groups)."""
    return get_object_or_404(
        KnowledgeBase.objects.editable_by(request.user).select_related("owner"), pk=pk
    )


def _edited_document(request: HttpRequest, pk: int) -> Document:
    return get_object_or_404(
        Document.objects.without_content(),
        pk=pk,
        knowledge_base__in=KnowledgeBase.objects.editable_by(request.user),
    )


@login_required
def document_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The viewer: a PDF's page with the cited passage marked on it, or the document's text
    with the passage highlighted (``?passage=<chunk id>``, ``?view=text``, ``?page=N``)."""
    document = _readable_document(request, pk, content=True)
    chunks = list(
        document.chunks.order_by("ordinal").only(
            "pk",
            "document_id",
            "ordinal",
            "text",
            "heading",
            "section",
            "page",
            "char_start",
            "char_end",
            "start_seconds",
            "end_seconds",
        )
    )
    state = viewing.viewer_state(
        document,
        chunks,
        passage=request.GET.get("passage"),
        view=request.GET.get("view"),
        page=request.GET.get("page"),
    )
    layout, page_error = None, ""
    if state.view == viewing.PAGE:
        cited_here = state.cited is not None and state.cited.page == state.page
        try:
            layout = viewing.pdf_page_layout(
                document,
                page=state.page,
                passage=state.cited.text if cited_here and state.cited else "",
            )
        except ExtractionError as exc:
            page_error = str(exc)
    return render(
        request,
        "knowledge/document_detail.html",
        {
            "document": document,
            "chunks": chunks,
            "state": state,
            "layout": layout,
            "page_error": page_error,
            "text_html": viewing.document_text_html(document, chunks)
            if state.view == viewing.TEXT and not document.is_recording
            else None,
            "transcript": viewing.transcript_lines(document, chunks, state.cited)
            if document.is_recording
            else [],
            "media_element": viewing.media_element(document),
            "has_page_view": viewing.has_page_view(document),
            "may_download": bool(document.file) and may_download(request, document),
            # An e-mail and its attachments link each other (same knowledge base, so readable).
            "parent": document.parent,
            "parts": document.parts.order_by("title").only("pk", "title", "status"),
        },
    )


def may_download(request: HttpRequest, document: Document) -> bool:
    """Readers download originals unless the base forbids it; its editors always may."""
    if document.knowledge_base.readers_may_download:
        return True
    editable = KnowledgeBase.objects.editable_by(request.user)
    return editable.filter(pk=document.knowledge_base_id).exists()


@login_required
@require_GET
def document_page_image(request: HttpRequest, pk: int, page: int) -> HttpResponse:
    """One PDF page as a PNG, drawn in the isolated child (404 for a page it does not have)."""
    document = _readable_document(request, pk)
    if not viewing.has_page_view(document):
        raise Http404("This document has no pages to draw.")
    try:
        png = viewing.pdf_page_png(document, page=page)
    except ExtractionError as exc:
        return HttpResponse(str(exc), status=404, content_type="text/plain; charset=utf-8")
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def document_file(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The original upload. Only PDFs are shown inline; anything else is a plain download,
    so an uploaded HTML page can never run in our origin. Byte ranges are served, so that
    the viewer's player seeks in a recording (its own type, which no browser runs)."""
    document = _readable_document(request, pk)
    if not document.file:
        raise Http404("This document has no stored file.")
    if not document.knowledge_base.readers_may_download and not (
        KnowledgeBase.objects.editable_by(request.user)
        .filter(pk=document.knowledge_base_id)
        .exists()
    ):
        return render(
            request,
            "knowledge/download_refused.html",
            {"document": document},
            status=403,
        )
    inline = document.is_pdf
    response = ranged_file_response(
        request,
        document.file.open("rb"),
        size=document.file.size,
        content_type=served_content_type(document),
        filename=" ".join(document.title.rsplit("/", 1)[-1].split()) or "document",
        as_attachment=not inline,
    )
    response["X-Content-Type-Options"] = "nosniff"
    if not inline:
        response["Content-Security-Policy"] = "sandbox"
    return response


def served_content_type(document: Document) -> str:
    """PDFs and recordings keep their type (detected from content, from a fixed list);
    everything else is opaque bytes."""
    if document.is_pdf or document.is_recording:
        return document.mime_type
    return "application/octet-stream"


def upload_limits() -> dict[str, Any]:
    return {
        "max_upload_mb": settings.MAX_UPLOAD_BYTES // (1024 * 1024),
        "recording_mb": settings.RECORDING_MAX_UPLOAD_BYTES // (1024 * 1024),
        "recording_hours": round(settings.RECORDING_MAX_SECONDS / 3600, 1),
        "max_files": settings.MAX_FILES_PER_UPLOAD,
        "max_urls": settings.MAX_URLS_PER_UPLOAD,
        "archive_members": settings.ARCHIVE_MAX_MEMBERS,
        "archive_expanded_mb": settings.ARCHIVE_MAX_EXPANDED_BYTES // (1024 * 1024),
        "accepted": ",".join(ACCEPTED_SUFFIXES),
        "accepted_list": " ".join(ACCEPTED_SUFFIXES),
    }


@login_required
def knowledge_base_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "knowledge/knowledge_base_list.html",
        {
            "readable": KnowledgeBase.objects.readable_by(request.user),
            "editable_ids": set(
                KnowledgeBase.objects.editable_by(request.user).values_list("pk", flat=True)
            ),
            "new_form": NewKnowledgeBaseForm()
            if getattr(request.user, "is_staff", False)
            else None,
        },
    )


@login_required
def knowledge_base_manage(request: HttpRequest, pk: int) -> HttpResponse:
    """Documents and web sources for its editors; settings and sharing for its managers."""
    knowledge_base = _edited_base(request, pk)
    manages = knowledge_base.is_managed_by(request.user)
    return render(
        request,
        "knowledge/manage.html",
        {
            "knowledge_base": knowledge_base,
            "manages": manages,
            "documents": knowledge_base.documents.without_content().order_by("-created_at"),
            "limits": upload_limits(),
            "sharing_form": SharingForm(instance=knowledge_base) if manages else None,
            "settings_form": SettingsForm(instance=knowledge_base) if manages else None,
        },
    )


@login_required
@require_POST
def knowledge_base_create(request: HttpRequest) -> HttpResponse:
    """A new knowledge base owned by the staff member who names it."""
    if not getattr(request.user, "is_staff", False):
        raise Http404("Only staff create knowledge bases.")
    form = NewKnowledgeBaseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "No knowledge base was created: " + form_errors(form))
        return redirect("knowledge:list")
    knowledge_base = form.save(commit=False)
    knowledge_base.owner = request.user  # type: ignore[assignment]
    knowledge_base.save()
    messages.success(request, f"Created {knowledge_base.name}. Add its first documents here.")
    return redirect("knowledge:manage", pk=knowledge_base.pk)


@login_required
@require_POST
def knowledge_base_settings(request: HttpRequest, pk: int) -> HttpResponse:
    """Name, description, language (its text is indexed again when it changes), the model's
    instructions and the retrieval settings; only those who manage the base get here."""
    knowledge_base = _managed_base(request, pk)
    form = SettingsForm(request.POST, instance=knowledge_base)
    if not form.is_valid():
        messages.error(request, "Settings were not changed: " + form_errors(form))
        return redirect("knowledge:manage", pk=knowledge_base.pk)
    form.save()
    if "language" in form.changed_data:
        enqueue_relexing(knowledge_base_id=knowledge_base.pk)
        messages.success(
            request, "Settings saved; the text is being indexed again in its new language."
        )
    else:
        messages.success(request, "Settings saved.")
    return redirect("knowledge:manage", pk=knowledge_base.pk)


def form_errors(form: forms.BaseForm) -> str:
    """A form's errors as one sentence per field, for a message above the page."""
    parts = []
    for name, errors in form.errors.items():
        text = " ".join(str(error) for error in errors)
        field = form.fields.get(name)
        label = (field.label or name.replace("_", " ").capitalize()) if field else ""
        parts.append(f"{label}: {text}" if label else text)
    return " ".join(parts)


@login_required
@require_POST
def knowledge_base_sharing(request: HttpRequest, pk: int) -> HttpResponse:
    """Change who may read the base; only those who may manage it get past the lookup."""
    knowledge_base = _managed_base(request, pk)
    form = SharingForm(request.POST, instance=knowledge_base)
    if form.is_valid():
        form.save()
        messages.success(
            request, f"Sharing of {knowledge_base.name} saved: {sharing_summary(knowledge_base)}."
        )
    else:
        messages.error(request, "Sharing was not changed: " + form_errors(form))
    return redirect("knowledge:manage", pk=knowledge_base.pk)


def sharing_summary(knowledge_base: KnowledgeBase) -> str:
    if knowledge_base.shared_with_all:
        readers = "everyone signed in"
    else:
        names = list(knowledge_base.groups.order_by("name").values_list("name", flat=True))
        readers = "groups " + ", ".join(names) if names else "only its owner"
    editors = list(knowledge_base.editor_groups.order_by("name").values_list("name", flat=True))
    return readers + ("; editors: " + ", ".join(editors) if editors else "")


def document_status(document: Document) -> dict[str, Any]:
    return {
        "id": document.pk,
        "title": document.title,
        "status": document.status,
        "status_label": document.get_status_display(),
        "stage": document.get_stage_display() if document.stage else "",
        "note": document.progress_note,
        "percent": document.progress_percent,
        "done": document.progress_done,
        "total": document.progress_total,
        "chunks": document.chunk_count,
        "error": document.error,
    }


def _outcome_json(outcome: UploadOutcome) -> dict[str, Any]:
    return {
        "name": outcome.name,
        "error": outcome.error,
        "duplicate": outcome.duplicate,
        "document": document_status(outcome.document) if outcome.document else None,
    }


@login_required
@require_POST
def knowledge_base_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Files (any number, each checked) and URLs (one per line). JSON for the page's script,
    a redirect with messages without it."""
    knowledge_base = _edited_base(request, pk)
    outcomes = add_batch(
        knowledge_base=knowledge_base,
        files=request.FILES.getlist("files"),
        urls=request.POST.get("urls", "").splitlines(),
    )
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"items": [_outcome_json(o) for o in outcomes]})
    for outcome in outcomes:
        if outcome.error:
            messages.error(request, outcome.error)
        else:
            messages.success(request, f"Added {outcome.name}.")
    return redirect("knowledge:manage", pk=knowledge_base.pk)


@login_required
@require_GET
def knowledge_base_status(request: HttpRequest, pk: int) -> JsonResponse:
    knowledge_base = _edited_base(request, pk)
    documents = knowledge_base.documents.without_content().order_by("-created_at")
    return JsonResponse({"documents": [document_status(d) for d in documents]})


@login_required
@require_POST
def document_reindex(request: HttpRequest, pk: int) -> HttpResponse:
    document = _edited_document(request, pk)
    request_reindex(document=document)
    messages.success(request, f"{document.title} queued for re-indexing.")
    return redirect("knowledge:manage", pk=document.knowledge_base_id)


@login_required
@require_POST
def document_delete(request: HttpRequest, pk: int) -> HttpResponse:
    document = _edited_document(request, pk)
    knowledge_base_id, title = document.knowledge_base_id, document.title
    delete_document(document=document)
    messages.success(request, f"Deleted {title}.")
    return redirect("knowledge:manage", pk=knowledge_base_id)
