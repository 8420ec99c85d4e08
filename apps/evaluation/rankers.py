"""The rankers an evaluation compares, each turning a query into data-set document ids.

The app's own: ``hybrid_candidates`` in vector, text and hybrid mode, and hybrid +
``/reranking`` exactly as ``retrieval.retrieve`` does it (the first ``RETRIEVAL_CANDIDATES``
fused chunks reranked). The baselines: BM25 (bm25s) and exact cosine (numpy) over the
same stored chunks. A document's rank is the best rank of any of its chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.test.utils import override_settings

from apps.evaluation.baselines import Bm25Ranker, CosineRanker
from apps.evaluation.beir import BeirDataset
from apps.evaluation.errors import EvaluationError
from apps.knowledge.models import Chunk, KnowledgeBase
from apps.search.retrieval import load_passages, rerank_passages
from apps.search.sql import Candidate, RetrievalMode, hybrid_candidates


@dataclass(frozen=True)
class EvalQuery:
    query_id: str
    text: str
    vector: list[float]


@dataclass(frozen=True)
class StoredChunks:
    """The base's chunks as stored: ids, owning data-set document, indexed text, vectors."""

    ids: list[int]
    doc_ids: list[str]
    texts: list[str]
    vectors: np.ndarray[Any, np.dtype[np.float32]]

    @property
    def doc_of(self) -> dict[int, str]:
        return dict(zip(self.ids, self.doc_ids, strict=True))


Ranker = Callable[[EvalQuery], list[str]]  # data-set document ids, best first


def load_chunks(knowledge_base: KnowledgeBase, beir_ids: Mapping[int, str]) -> StoredChunks:
    rows = list(
        Chunk.objects.filter(knowledge_base=knowledge_base)
        .order_by("pk")
        .values_list("pk", "document_id", "heading", "text", "embedding")
    )
    return StoredChunks(
        ids=[r[0] for r in rows],
        doc_ids=[beir_ids[r[1]] for r in rows],
        # What the full-text column indexes: the heading and the text.
        texts=[f"{r[2]}\n{r[3]}" if r[2] else r[3] for r in rows],
        vectors=np.asarray([r[4] for r in rows], dtype=np.float32),
    )


def by_document(chunk_ids: Iterable[int], doc_of: Mapping[int, str]) -> list[str]:
    """Documents in the order of their best chunk (first occurrence kept)."""
    return list(dict.fromkeys(doc_of[c] for c in chunk_ids if c in doc_of))


def app_ranker(kb_id: int, doc_of: Mapping[int, str], mode: RetrievalMode, depth: int) -> Ranker:
    def rank(query: EvalQuery) -> list[str]:
        candidates = hybrid_candidates(
            query_text=query.text,
            query_vector=query.vector,
            knowledge_base_ids=[kb_id],
            limit=depth,
            mode=mode,
        )
        return by_document((c.chunk_id for c in candidates), doc_of)

    return rank


def hybrid_ranker(
    kb_id: int, doc_of: Mapping[int, str], *, depth: int, head: int, rerank: bool
) -> Ranker:
    """The app's fused top ``head`` (reranked when asked, as ``retrieve`` does), then the
    deeper fused list for the ranks the app never shows (Recall@100)."""

    def rank(query: EvalQuery) -> list[str]:
        def fused(limit: int) -> list[int]:
            candidates = hybrid_candidates(
                query_text=query.text,
                query_vector=query.vector,
                knowledge_base_ids=[kb_id],
                limit=limit,
            )
            return [c.chunk_id for c in candidates]

        top = fused(head)
        if rerank:
            top = _reranked(query.text, top, kb_id)
        return by_document([*top, *fused(depth)], doc_of)

    return rank


def _reranked(question: str, chunk_ids: list[int], kb_id: int) -> list[int]:
    candidates = [Candidate(c, 0.0, None, None) for c in chunk_ids]
    passages = load_passages(candidates, knowledge_base_ids=[kb_id])
    result = rerank_passages(question, passages, top_n=len(passages))
    if passages and not result.reranked:
        raise EvaluationError(f"reranking failed, the figures would be fused order: {result.note}")
    return [p.chunk_id for p in result.passages]


def chunk_baseline(
    ranked_indexes: Callable[[EvalQuery], list[int]], chunks: StoredChunks
) -> Ranker:
    def rank(query: EvalQuery) -> list[str]:
        return list(dict.fromkeys(chunks.doc_ids[i] for i in ranked_indexes(query)))

    return rank


def through_hnsw(ranker: Ranker) -> Ranker:
    """The same ranker with the vector half forced through the HNSW index (a base this
    small is normally ranked exactly): what HNSW costs in recall at this size."""

    def rank(query: EvalQuery) -> list[str]:
        with override_settings(EXACT_SEARCH_MAX_ROWS=0):
            return ranker(query)

    return rank


def methods(
    dataset: BeirDataset, kb_id: int, chunks: StoredChunks, *, depth: int, head: int
) -> list[tuple[str, str, Ranker]]:
    """Every method an evaluation runs: (name, description, ranker), baselines first."""
    doc_of = chunks.doc_of
    bm25_chunks = Bm25Ranker(chunks.texts)
    bm25_documents = Bm25Ranker([f"{e.title}\n{e.text}" for e in dataset.corpus])
    cosine = CosineRanker(chunks.vectors)
    stem = bm25_chunks.stemmer_name
    return [
        (
            "bm25_documents",
            f"bm25s over whole documents, title + text (the usual BEIR setup), stemmer {stem}",
            lambda q: [dataset.corpus[i].doc_id for i in bm25_documents.rank(q.text, depth=depth)],
        ),
        (
            "bm25_chunks",
            f"bm25s over the stored chunks (heading + text), stemmer {stem}",
            chunk_baseline(lambda q: bm25_chunks.rank(q.text, depth=depth), chunks),
        ),
        (
            "exact_cosine",
            "numpy brute-force cosine over the stored chunk vectors",
            chunk_baseline(lambda q: cosine.rank(q.vector, depth=depth), chunks),
        ),
        ("vector", "app SQL, vector half only", app_ranker(kb_id, doc_of, "vector", depth)),
        (
            "vector_hnsw",
            "app SQL, vector half only, forced through the HNSW index",
            through_hnsw(app_ranker(kb_id, doc_of, "vector", depth)),
        ),
        ("text", "app SQL, full-text half only", app_ranker(kb_id, doc_of, "text", depth)),
        (
            "hybrid",
            f"app SQL, vector + text fused by RRF (top {head} as the app asks, then deeper)",
            hybrid_ranker(kb_id, doc_of, depth=depth, head=head, rerank=False),
        ),
        (
            "hybrid_rerank",
            f"hybrid, its top {head} reranked through /reranking as passages.retrieve does",
            hybrid_ranker(kb_id, doc_of, depth=depth, head=head, rerank=True),
        ),
    ]
