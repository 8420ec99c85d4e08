"""The steps of a question around the model call: which passages, under which settings, and
what the stored answer records about them (``answering`` runs them in order)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User

from apps.knowledge.models import AskingProfile, Document, KnowledgeBase, asking_profile
from apps.search.filters import DocumentFilter
from apps.search.retrieval import Passage, RetrievalResult, retrieve


def retrieve_for(
    *,
    user: User,
    search_query: str,
    knowledge_base_ids: list[int],
    document_filter: DocumentFilter,
) -> tuple[RetrievalResult, AskingProfile]:
    """The passages for a question, with the asked bases' settings (passages sent,
    reranking) applied; the profile also carries their instructions for the model."""
    profile = asking_profile(KnowledgeBase.objects.readable_ids(user, requested=knowledge_base_ids))
    retrieval = retrieve(
        user=user,
        question=search_query,
        knowledge_base_ids=knowledge_base_ids,
        top_n=profile.top_n,
        use_reranker=profile.rerank,
        document_filter=document_filter,
    )
    return retrieval, profile


def finish_metadata(
    metadata: dict[str, Any],
    *,
    user: User,
    retrieval: RetrievalResult,
    history: Sequence[dict[str, str]],
    started: float,
    reworded: str,
    document_filter: DocumentFilter,
) -> dict[str, Any]:
    """What a stored answer records besides the model's own figures."""
    metadata.update(
        reranked=retrieval.reranked,
        note=retrieval.note or ("" if retrieval.passages else "No passages retrieved."),
        history_messages=len(history),
        total_seconds=round(time.monotonic() - started, 3),
    )
    if reworded:
        metadata["search_query"] = reworded
    if not document_filter.is_empty:
        metadata["filter"] = {
            **document_filter.as_json(),
            "document_titles": filter_titles(user, document_filter),
        }
    return metadata


def filter_titles(user: User, document_filter: DocumentFilter) -> list[str]:
    """The titles of the readable documents a question was narrowed to (what its note says)."""
    if not document_filter.document_ids:
        return []
    return list(
        Document.objects.filter(
            pk__in=document_filter.document_ids,
            knowledge_base__in=KnowledgeBase.objects.readable_by(user),
        )
        .order_by("title", "pk")
        .values_list("title", flat=True)
    )


def passage_json(passage: Passage) -> dict[str, Any]:
    """A retrieved passage as the stored answer keeps it (``Message.retrieved``)."""
    return {
        "chunk_id": passage.chunk_id,
        "document_id": passage.document_id,
        "title": passage.document_title,
        "page": passage.page,
        "page_kind": passage.page_kind,
        "section": passage.section,
        "start_seconds": passage.start_seconds,
        "end_seconds": passage.end_seconds,
        "url": passage.source_url,
        "text": passage.text,
        "score": round(passage.score, 4),
    }
