"""The insight pages: one per knowledge base, and one across the bases a staff member manages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from apps.insight.report import WINDOWS, build_insight, window_days
from apps.knowledge.models import KnowledgeBase


def _render(
    request: HttpRequest, bases: list[KnowledgeBase], knowledge_base: KnowledgeBase | None
) -> HttpResponse:
    days = window_days(request.GET.get("days"))
    insight = build_insight(request.user, [b.pk for b in bases], days=days) if bases else None
    return render(
        request,
        "insight/insight.html",
        {
            "insight": insight,
            "bases": bases,
            "knowledge_base": knowledge_base,
            "windows": WINDOWS,
            "days": days,
        },
    )


@login_required
def insight_all(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise Http404("Insight is for staff.")
    bases = list(
        KnowledgeBase.objects.manageable_by(request.user).only("pk", "name").order_by("name")
    )
    return _render(request, bases, None)


@login_required
def insight_base(request: HttpRequest, pk: int) -> HttpResponse:
    base = (
        KnowledgeBase.objects.manageable_by(request.user).only("pk", "name").filter(pk=pk).first()
    )
    if base is None:
        raise Http404("No such knowledge base.")
    return _render(request, [base], base)
