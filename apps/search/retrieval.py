"""Retrieval as a pipeline of small steps: embed → hybrid candidates → rerank → passages."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q

from apps.knowledge.models import Chunk, Document, KnowledgeBase
from apps.modelapi import observe
from apps.modelapi.client import create_embeddings, embeddings_endpoint, rerank
from apps.modelapi.errors import ModelApiError
from apps.search.filters import NO_FILTER, DocumentFilter
from apps.search.sql import Candidate, hybrid_candidates

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Passage:
    chunk_id: int
    document_id: int
    document_title: str
    knowledge_base_id: int
    knowledge_base_name: str
    text: str
    heading: str
    page: int | None
    source_url: str
    mime_type: str
    score: float
    page_kind: str = "page"  # what ``page`` counts: "page" (PDF, scan) or "slide"
    section: str = ""  # the heading path: "Guide › Travel › Hotels"
    start_seconds: float | None = None  # when a recording says it (seconds); None for text
    end_seconds: float | None = None


@dataclass(frozen=True)
class RetrievalResult:
    passages: list[Passage]
    reranked: bool
    note: str = ""


def load_passages(candidates: list[Candidate], *, knowledge_base_ids: list[int]) -> list[Passage]:
    """Chunk rows for ``candidates`` in candidate order, still scoped to the readable bases."""
    chunks = {
        chunk.pk: chunk
        for chunk in Chunk.objects.filter(
            pk__in=[c.chunk_id for c in candidates], knowledge_base_id__in=knowledge_base_ids
        )
        .select_related("document", "knowledge_base")
        .defer(*(f"document__{name}" for name in Document.CONTENT_FIELDS))
    }
    passages = []
    for candidate in candidates:
        chunk = chunks.get(candidate.chunk_id)
        if chunk is None:
            continue
        passages.append(
            Passage(
                chunk_id=chunk.pk,
                document_id=chunk.document_id,
                document_title=chunk.document.title,
                knowledge_base_id=chunk.knowledge_base_id,
                knowledge_base_name=chunk.knowledge_base.name,
                text=chunk.text,
                heading=chunk.heading,
                page=chunk.page,
                source_url=chunk.document.source_url,
                mime_type=chunk.document.mime_type,
                score=candidate.score,
                page_kind=chunk.document.page_kind,
                section=chunk.section,
                start_seconds=chunk.start_seconds,
                end_seconds=chunk.end_seconds,
            )
        )
    return passages


def rerank_passages(question: str, passages: list[Passage], *, top_n: int) -> RetrievalResult:
    """Reorder through ``/reranking``; if it is unavailable, keep the fused order and say so."""
    if not passages:
        return RetrievalResult([], reranked=False)
    try:
        ranked = rerank(question, [p.text for p in passages])
    except ModelApiError as exc:
        logger.warning("reranking unavailable, using fused order: %s", exc)
        return RetrievalResult(
            passages[:top_n],
            reranked=False,
            note="Reranker unavailable; fused retrieval order used.",
        )
    if not ranked:
        return RetrievalResult(
            passages[:top_n],
            reranked=False,
            note="The reranker returned nothing; fused order used.",
        )
    ordered = [replace(passages[r.index], score=r.score) for r in ranked]
    seen = {r.index for r in ranked}
    # Passages the reranker left out keep their fused order after the reranked ones.
    ordered += [p for i, p in enumerate(passages) if i not in seen]
    return RetrievalResult(ordered[:top_n], reranked=True)


def retrieve(
    *,
    user: AbstractBaseUser | AnonymousUser,
    question: str,
    knowledge_base_ids: list[int] | None = None,
    top_n: int | None = None,
    use_reranker: bool = True,
    document_filter: DocumentFilter = NO_FILTER,
) -> RetrievalResult:
    """The passages of the readable knowledge bases that best answer ``question``; without
    ``use_reranker`` (a knowledge base's setting), the fused order of the candidates; ``document_filter``
    narrows the candidates in SQL to some documents, file types or dates added."""
    allowed = KnowledgeBase.objects.readable_ids(user, requested=knowledge_base_ids)
    if not allowed or not question.strip():
        return RetrievalResult([], reranked=False)
    query_vector = create_embeddings([question])[0]
    same_space = same_embedding_space(allowed)
    with observe.timed("retrieve"):  # the database's part; embed and rerank time themselves
        candidates = hybrid_candidates(
            query_text=question,
            query_vector=query_vector,
            knowledge_base_ids=allowed,
            vector_knowledge_base_ids=same_space,
            limit=settings.RETRIEVAL_CANDIDATES,
            document_filter=document_filter,
        )
        passages = load_passages(candidates, knowledge_base_ids=allowed)
    keep = top_n or settings.RETRIEVAL_TOP_N
    if use_reranker:
        result = rerank_passages(question, passages, top_n=keep)
    else:
        result = RetrievalResult(passages[:keep], reranked=False)
    if len(same_space) < len(allowed):
        note = "Some knowledge bases await re-embedding with the current model; text search only."
        result = replace(result, note=" ".join(filter(None, [result.note, note])))
    return result


def same_embedding_space(knowledge_base_ids: list[int]) -> list[int]:
    """Bases whose vectors come from the configured embedding model (or have none yet)."""
    model = embeddings_endpoint().model
    return list(
        KnowledgeBase.objects.filter(pk__in=knowledge_base_ids)
        .filter(Q(embedding_model="") | Q(embedding_model=model))
        .values_list("pk", flat=True)
    )
