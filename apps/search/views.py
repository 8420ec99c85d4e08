from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.safestring import SafeString

from apps.knowledge.cleaning import clean_text
from apps.knowledge.models import KnowledgeBase
from apps.modelapi.errors import ModelApiError
from apps.search.filters import FILE_TYPES, NO_FILTER, document_filter
from apps.search.highlight import highlight
from apps.search.retrieval import Passage, retrieve
from apps.search.titles import documents_titled

RESULTS = 10
MAX_ID_DIGITS = 18  # a bigint
# Reranked results scoring below this share of the best one are hidden behind "show all".
WEAK_MATCH_SHARE = 0.6


@dataclass(frozen=True)
class Hit:
    passage: Passage
    snippet: SafeString


def _int_or_none(raw: str | None) -> int | None:
    """A database id from a query parameter ("²" is a digit to ``isdigit``, not to ``int``)."""
    if raw and raw.isascii() and raw.isdigit() and len(raw) <= MAX_ID_DIGITS:
        return int(raw)
    return None


def strong_matches(passages: list[Passage]) -> list[Passage]:
    """The passages scoring at least ``WEAK_MATCH_SHARE`` of the best reranker score."""
    if not passages or passages[0].score <= 0:
        return passages
    floor = passages[0].score * WEAK_MATCH_SHARE
    return [p for p in passages if p.score >= floor]


def _with_all(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("partial", None)
    params["all"] = "1"
    return params.urlencode()


@login_required
def search_view(request: HttpRequest) -> HttpResponse:
    """Ranked passages (hybrid + rerank, no generation). Without JavaScript it is a plain
    GET form; the page's script asks for the results fragment as you type."""
    query = clean_text(request.GET.get("q", "")).strip()[:500]  # a NUL was a 500
    knowledge_base = _int_or_none(request.GET.get("kb"))
    file_type = request.GET.get("type", "")
    show_all = request.GET.get("all") == "1"
    hits: list[Hit] = []
    hidden = 0
    error = note = ""
    if query:
        narrowed = document_filter(file_types=[file_type]) if file_type in FILE_TYPES else NO_FILTER
        try:
            result = retrieve(
                user=request.user,
                question=query,
                knowledge_base_ids=[knowledge_base] if knowledge_base else None,
                top_n=RESULTS,
                document_filter=narrowed,
            )
        except ModelApiError as exc:
            error = exc.user_message
        else:
            passages = result.passages
            if result.reranked and not show_all:
                strong = strong_matches(passages)
                hidden = len(passages) - len(strong)
                passages = strong
            hits = [Hit(p, highlight(p.text, query)) for p in passages]
            note = result.note
    context = {
        "query": query,
        "hits": hits,
        "error": error,
        "note": note,
        "knowledge_bases": KnowledgeBase.objects.readable_by(request.user),
        "selected_kb": knowledge_base,
        "file_types": [(key, label) for key, (label, _) in FILE_TYPES.items()],
        "selected_type": file_type,
        "hidden": hidden,
        "show_all_query": _with_all(request),
    }
    template = "search/_results.html" if request.GET.get("partial") else "search/search.html"
    return render(request, template, context)


@login_required
def document_titles_view(request: HttpRequest) -> JsonResponse:
    """``?q=`` → the readable documents whose titles match (the ask form's picker)."""
    return JsonResponse({"documents": documents_titled(request.user, request.GET.get("q", ""))})
