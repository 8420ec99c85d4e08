"""Staff pages and actions of site sources: only for who may manage the knowledge base."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from apps.knowledge.models import KnowledgeBase
from apps.sources.forms import SiteSourceForm
from apps.sources.models import SiteSource
from apps.sources.scheduling import cancel_sync, request_sync_now
from apps.sources.services import SiteSettings, SourceRejected, add_site_source, delete_source

PAGES_SHOWN = 500


def _managed_source(request: HttpRequest, pk: int) -> SiteSource:
    """The source, only if the user may edit its knowledge base (404 otherwise)."""
    return get_object_or_404(
        SiteSource.objects.select_related("knowledge_base"),
        pk=pk,
        knowledge_base__in=KnowledgeBase.objects.editable_by(request.user),
    )


@login_required
@require_POST
def source_add(request: HttpRequest, pk: int) -> HttpResponse:
    knowledge_base = get_object_or_404(KnowledgeBase.objects.editable_by(request.user), pk=pk)
    form = SiteSourceForm(request.POST)
    if not form.is_valid():
        errors = [
            f"{form.fields[name].label}: {' '.join(str(m) for m in e)}"
            for name, e in form.errors.items()
        ]
        messages.error(request, "The site was not added. " + " ".join(errors))
        return redirect("knowledge:manage", pk=knowledge_base.pk)
    options = SiteSettings(
        max_pages=form.cleaned_data["max_pages"],
        max_depth=form.cleaned_data["max_depth"],
        every_hours=form.cleaned_data["every_hours"],
        scope=form.cleaned_data["scope"].strip(),
    )
    try:
        source = add_site_source(
            knowledge_base=knowledge_base, start_url=form.cleaned_data["start_url"], options=options
        )
    except SourceRejected as exc:
        messages.error(request, f"The site was not added: {exc}")
        return redirect("knowledge:manage", pk=knowledge_base.pk)
    messages.success(request, f"Added {source.start_url}; its first sync is queued.")
    return redirect("sources:source", pk=source.pk)


@login_required
@require_GET
def source_detail(request: HttpRequest, pk: int) -> HttpResponse:
    source = _managed_source(request, pk)
    pages = source.pages.select_related("document").order_by("url")[:PAGES_SHOWN]
    return render(
        request,
        "sources/source_detail.html",
        {
            "source": source,
            "knowledge_base": source.knowledge_base,
            "pages": pages,
            "page_count": source.pages.count(),
            "pages_shown": PAGES_SHOWN,
        },
    )


@login_required
@require_POST
def source_sync(request: HttpRequest, pk: int) -> HttpResponse:
    source = _managed_source(request, pk)
    outcome = request_sync_now(source=source)
    if outcome == "queued":
        messages.success(request, f"Sync of {source.start_url} queued.")
    elif outcome == "waiting":
        messages.success(request, f"A sync of {source.start_url} is queued already.")
    else:
        messages.error(request, f"{source.start_url} is syncing already.")
    return redirect("sources:source", pk=source.pk)


@login_required
@require_POST
def source_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    source = _managed_source(request, pk)
    outcome = cancel_sync(source=source)
    text = {
        "unqueued": "The queued sync was cancelled.",
        "stopping": "The sync stops after the page it is fetching.",
        "idle": "No sync was running.",
    }[outcome]
    messages.success(request, text)
    return redirect("sources:source", pk=source.pk)


@login_required
@require_POST
def source_delete(request: HttpRequest, pk: int) -> HttpResponse:
    source = _managed_source(request, pk)
    knowledge_base_id = source.knowledge_base_id
    if source.state == SiteSource.State.SYNCING:
        messages.error(request, "Cancel the running sync before removing the source.")
        return redirect("sources:source", pk=source.pk)
    removed = delete_source(source=source)
    messages.success(request, f"Removed {source.start_url} and its {removed} page(s).")
    return redirect("knowledge:manage", pk=knowledge_base_id)
