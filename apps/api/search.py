"""GET /search: ranked passages, as the search page finds them (same retrieval, same
permission rule, same file-type filter and weak-match cut, same highlighting)."""

from __future__ import annotations

import html
import re

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from apps.api.auth import token_user
from apps.api.common import READ_ERRORS, chosen_bases
from apps.api.errors import ErrorBody, model_server_error
from apps.api.schemas import (
    MAX_QUERY_CHARS,
    CleanText,
    FileType,
    Id,
    KnowledgeBaseRef,
    PassageDocument,
    SearchHit,
    SearchOut,
    Span,
)
from apps.knowledge.links import passage_path
from apps.modelapi.errors import ModelApiError
from apps.search.filters import NO_FILTER, document_filter
from apps.search.highlight import highlight
from apps.search.retrieval import Passage, retrieve
from apps.search.views import RESULTS, strong_matches

router = Router()

MAX_RESULTS = 40
_MARK = re.compile(r"<mark>(.*?)</mark>", re.DOTALL)


class SearchParams(Schema):
    q: CleanText = Field(max_length=MAX_QUERY_CHARS, description="What to search for.")
    knowledge_base: Id | None = Field(None, description="Only this knowledge base.")
    type: FileType | None = Field(None, description="Only documents of this kind.")
    limit: int = Field(RESULTS, ge=1, le=MAX_RESULTS)
    all: bool = Field(False, description="Keep weak matches (the page's 'show all').")


def marked_spans(snippet_html: str) -> tuple[str, list[Span]]:
    """The plain snippet and where ``highlight`` put its <mark>s, as character offsets."""
    plain: list[str] = []
    spans: list[Span] = []
    length = 0
    position = 0
    for match in _MARK.finditer(snippet_html):
        before = html.unescape(snippet_html[position : match.start()])
        marked = html.unescape(match.group(1))
        plain += [before, marked]
        start = length + len(before)
        spans.append(Span(start=start, end=start + len(marked)))
        length = start + len(marked)
        position = match.end()
    plain.append(html.unescape(snippet_html[position:]))
    return "".join(plain), spans


def hit_of(passage: Passage, query: str) -> SearchHit:
    snippet_html = str(highlight(passage.text, query))
    snippet, spans = marked_spans(snippet_html)
    return SearchHit(
        chunk_id=passage.chunk_id,
        score=round(passage.score, 4),
        document=PassageDocument(
            id=passage.document_id,
            title=passage.document_title,
            mime_type=passage.mime_type,
            source_url=passage.source_url,
            url=passage_path(passage.document_id, passage.chunk_id),
        ),
        knowledge_base=KnowledgeBaseRef(
            id=passage.knowledge_base_id, name=passage.knowledge_base_name
        ),
        page=passage.page,
        page_kind=passage.page_kind,
        start_seconds=passage.start_seconds,
        end_seconds=passage.end_seconds,
        heading=passage.heading,
        section=passage.section,
        text=passage.text,
        snippet=snippet,
        highlights=spans,
        snippet_html=snippet_html,
    )


@router.get(
    "/search",
    response={200: SearchOut, **READ_ERRORS, 502: ErrorBody},
    url_name="search",
    summary="Search the readable knowledge bases",
)
def search(request: HttpRequest, params: Query[SearchParams]) -> SearchOut:
    """Ranked passages (hybrid search, then the reranker): each with its document, page or
    slide, link and highlighted snippet. A requested knowledge base you may not read is not
    found (404), as in ``POST /ask``."""
    narrowed = document_filter(file_types=[params.type.value]) if params.type else NO_FILTER
    if params.knowledge_base is not None:
        chosen_bases(request, [params.knowledge_base])
    try:
        result = retrieve(
            user=token_user(request),
            question=params.q,
            knowledge_base_ids=[params.knowledge_base] if params.knowledge_base else None,
            top_n=params.limit,
            document_filter=narrowed,
        )
    except ModelApiError as exc:
        raise model_server_error(exc) from exc
    passages = result.passages[: params.limit]
    hidden = 0
    if result.reranked and not params.all:
        strong = strong_matches(passages)
        hidden, passages = len(passages) - len(strong), strong
    return SearchOut(
        query=params.q,
        results=[hit_of(p, params.q) for p in passages],
        reranked=result.reranked,
        hidden=hidden,
        note=result.note,
    )
