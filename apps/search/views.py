from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString

from apps.knowledge.cleaning import clean_text
from apps.knowledge.extract import MIME_DOCX
from apps.knowledge.formats_image import IMAGE_MIME_TYPES
from apps.knowledge.mailkind import MAIL_MIME_TYPES
from apps.knowledge.models import KnowledgeBase
from apps.knowledge.office_package import (
    MIME_EPUB,
    MIME_ODP,
    MIME_ODS,
    MIME_ODT,
    MIME_PPTX,
    MIME_RTF,
    MIME_XLSM,
    MIME_XLSX,
)
from apps.modelapi.errors import ModelApiError
from apps.search.highlight import highlight
from apps.search.retrieval import Passage, retrieve

FILE_TYPES = {
    "pdf": ("PDF", {"application/pdf"}),
    "word": ("Word, OpenDocument text, RTF", {MIME_DOCX, MIME_ODT, MIME_RTF}),
    "sheets": ("Spreadsheets", {MIME_XLSX, MIME_XLSM, MIME_ODS}),
    "slides": ("Presentations", {MIME_PPTX, MIME_ODP}),
    "books": ("E-books", {MIME_EPUB}),
    "images": ("Images (PNG, JPEG, TIFF, WebP)", set(IMAGE_MIME_TYPES)),
    "text": ("Text and Markdown", {"text/plain", "text/markdown"}),
    "web": ("Web pages", {"text/html"}),
    "data": ("CSV and JSON", {"text/csv", "application/json", "application/jsonl"}),
    "email": ("E-mail", set(MAIL_MIME_TYPES)),
}
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
        mime_types = FILE_TYPES[file_type][1] if file_type in FILE_TYPES else None
        try:
            result = retrieve(
                user=request.user,
                question=query,
                knowledge_base_ids=[knowledge_base] if knowledge_base else None,
                top_n=40 if mime_types else RESULTS,
            )
        except ModelApiError as exc:
            error = exc.user_message
        else:
            passages = [
                p for p in result.passages if mime_types is None or p.mime_type in mime_types
            ][:RESULTS]
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
