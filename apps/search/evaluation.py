"""Retrieval quality on a BEIR data set, through the app's own ingestion and retrieval.

    manage.py evaluate --dataset PATH [--keep] [--output results.json]

The corpus is indexed into a throwaway knowledge base by the normal pipeline
(``evaluation_base``); every judged query then goes through ``hybrid_candidates`` in
vector, text and hybrid mode, and through hybrid + ``/reranking`` exactly as
``passages.retrieve`` does it (the first ``RETRIEVAL_CANDIDATES`` fused chunks reranked).
BM25 (bm25s) and exact cosine (numpy) over the same stored chunks are the baselines.
A document's rank is the best rank of any of its chunks. Metrics come from ranx.
"""

from __future__ import annotations

import os
import statistics
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.test.utils import override_settings

from apps.knowledge.models import Chunk, KnowledgeBase
from apps.modelapi.client import create_embeddings, embeddings_endpoint, rerank_endpoint
from apps.search.baselines import Bm25Ranker, CosineRanker
from apps.search.beir import BeirDataset
from apps.search.evaluation_base import (
    EvaluationError,
    Progress,
    delete_base,
    prepare_base,
)
from apps.search.retrieval import load_passages, rerank_passages
from apps.search.sql import Candidate, RetrievalMode, hybrid_candidates

METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")
DEFAULT_DEPTH = 300  # chunks asked per query: deduplicated, well over 100 documents

__all__ = ["EvaluationError", "EvaluationReport", "evaluate", "format_table"]


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


@dataclass
class MethodResult:
    name: str
    description: str
    metrics: dict[str, float]
    seconds: float
    ms_per_query: float
    p95_ms: float
    documents_per_query: float


@dataclass
class EvaluationReport:
    dataset: dict[str, Any]
    knowledge_base: dict[str, Any]
    models: dict[str, str]
    parameters: dict[str, Any]
    methods: list[MethodResult] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def metric(self, method: str, name: str) -> float:
        return next(m.metrics[name] for m in self.methods if m.name == method)

    def rerank_gains(self) -> dict[str, Any]:
        """Issue 7's target: hybrid + rerank against the best single app method (nDCG@10)."""
        best = max(("vector", "text"), key=lambda m: self.metric(m, "ndcg@10"))
        reranked = self.metric("hybrid_rerank", "ndcg@10")
        return {
            "best_single_method": best,
            "ndcg@10_hybrid_rerank_minus_best_single": round(
                reranked - self.metric(best, "ndcg@10"), 4
            ),
            "ndcg@10_hybrid_rerank_minus_hybrid": round(
                reranked - self.metric("hybrid", "ndcg@10"), 4
            ),
        }


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


def score(qrels: dict[str, dict[str, int]], rankings: dict[str, list[str]]) -> dict[str, float]:
    from ranx import Qrels, Run, evaluate

    # Scores only carry the order: 1/rank keeps ranx's sort equal to ours.
    run = Run(
        {q: {d: 1.0 / (i + 1) for i, d in enumerate(docs)} for q, docs in rankings.items() if docs}
    )
    with warnings.catch_warnings():
        # ranx's numba kernels warn about an unsigned → signed cast of rank counts.
        warnings.simplefilter("ignore")
        values = evaluate(Qrels(qrels), run, list(METRICS), make_comparable=True)
    scores = {name: round(float(values[name]), 4) for name in METRICS}
    plain = plain_recall_at_100(qrels, rankings)
    if abs(scores["recall@100"] - plain) > 1e-3:
        raise EvaluationError(f"ranx recall@100 {scores['recall@100']} != plain count {plain}")
    return scores


def plain_recall_at_100(qrels: dict[str, dict[str, int]], rankings: dict[str, list[str]]) -> float:
    """Recall@100 counted by hand: a guard against a scoring library that misreads the run."""
    per_query = []
    for query_id, judged in qrels.items():
        relevant = {doc for doc, grade in judged.items() if grade > 0}
        found = relevant.intersection(rankings.get(query_id, [])[:100])
        per_query.append(len(found) / len(relevant) if relevant else 0.0)
    return round(statistics.fmean(per_query), 4) if per_query else 0.0


def run_method(
    name: str, description: str, ranker: Ranker, queries: list[EvalQuery], dataset: BeirDataset
) -> MethodResult:
    rankings: dict[str, list[str]] = {}
    times: list[float] = []
    for query in queries:
        started = time.perf_counter()
        rankings[query.query_id] = ranker(query)
        times.append(time.perf_counter() - started)
    ms = sorted(t * 1000 for t in times)
    return MethodResult(
        name=name,
        description=description,
        metrics=score(dataset.qrels, rankings),
        seconds=round(sum(times), 2),
        ms_per_query=round(statistics.fmean(ms), 2),
        p95_ms=round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 2),
        documents_per_query=round(statistics.fmean(len(r) for r in rankings.values()), 1),
    )


def methods(
    dataset: BeirDataset, kb_id: int, chunks: StoredChunks, *, depth: int, head: int
) -> list[tuple[str, str, Ranker]]:
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


def through_hnsw(ranker: Ranker) -> Ranker:
    """The same ranker with the vector half forced through the HNSW index (a base this
    small is normally ranked exactly): what HNSW costs in recall at this size."""

    def rank(query: EvalQuery) -> list[str]:
        with override_settings(EXACT_SEARCH_MAX_ROWS=0):
            return ranker(query)

    return rank


def embed_queries(dataset: BeirDataset) -> tuple[list[EvalQuery], float]:
    started = time.perf_counter()
    ids = list(dataset.queries)
    vectors = create_embeddings([dataset.queries[q] for q in ids])
    seconds = time.perf_counter() - started
    return [EvalQuery(q, dataset.queries[q], v) for q, v in zip(ids, vectors, strict=True)], seconds


def _new_report(dataset: BeirDataset, *, depth: int, head: int) -> EvaluationReport:
    embeddings, reranker = embeddings_endpoint(), rerank_endpoint()
    return EvaluationReport(
        dataset={
            "path": str(dataset.path),
            "name": dataset.name,
            "documents": len(dataset.corpus),
            "queries": len(dataset.queries),
            "judgements": sum(len(j) for j in dataset.qrels.values()),
            "corpus_sha256": dataset.corpus_sha256,
        },
        knowledge_base={},
        models={
            "embedding": embeddings.model,
            "embeddings_url": embeddings.base_url,
            "rerank": reranker.model,
            "rerank_url": reranker.base_url,
        },
        parameters={
            "chunks_per_query": depth,
            "rerank_candidates": head,
            "rrf_k": settings.RRF_K,
            "chunk_target_tokens": settings.CHUNK_TARGET_TOKENS,
            "chunk_overlap_tokens": settings.CHUNK_OVERLAP_TOKENS,
            "hnsw_ef_search": settings.HNSW_EF_SEARCH,
        },
        machine={"cpu_count": os.cpu_count(), "loadavg_start": list(os.getloadavg())},
    )


def evaluate(
    dataset: BeirDataset,
    *,
    keep: bool = False,
    workers: int = 1,
    depth: int = DEFAULT_DEPTH,
    progress: Progress = lambda message: None,
) -> EvaluationReport:
    """Index ``dataset`` (or reuse a kept base), run every method, score them with ranx."""
    head = int(settings.RETRIEVAL_CANDIDATES)
    report = _new_report(dataset, depth=depth, head=head)
    queries, embed_seconds = embed_queries(dataset)  # fails fast if the server is unreachable
    prepared = prepare_base(dataset, workers=workers, progress=progress)
    try:
        kb_id = prepared.knowledge_base.pk
        chunks = load_chunks(prepared.knowledge_base, prepared.beir_ids)
        report.knowledge_base = {
            "name": prepared.knowledge_base.name,
            "reused": prepared.reused,
            "kept": keep,
            "chunks": len(chunks.ids),
            "ingested_documents": prepared.ingested_documents,
            "ingest_seconds": round(prepared.ingest_seconds, 1),
            "ingest_documents_per_s": _rate(prepared.ingested_documents, prepared.ingest_seconds),
            "ingest_workers": workers,
        }
        report.timings["query_embedding_s"] = round(embed_seconds, 2)
        started = time.perf_counter()
        for name, description, ranker in methods(dataset, kb_id, chunks, depth=depth, head=head):
            progress(f"running {name} …")
            report.methods.append(run_method(name, description, ranker, queries, dataset))
        report.timings["methods_s"] = round(time.perf_counter() - started, 1)
        report.summary = report.rerank_gains()
    finally:
        if not keep:
            delete_base(prepared.knowledge_base)
    report.machine["loadavg_end"] = list(os.getloadavg())
    return report


def _rate(count: int, seconds: float) -> float | None:
    return round(count / seconds, 2) if count and seconds > 0 else None


def format_table(report: EvaluationReport) -> str:
    header = f"{'method':<16}" + "".join(f"{m:>12}" for m in METRICS) + f"{'ms/query':>10}"
    lines = [header, "-" * len(header)]
    for method in report.methods:
        values = "".join(f"{method.metrics[m]:>12.4f}" for m in METRICS)
        lines.append(f"{method.name:<16}{values}{method.ms_per_query:>10.1f}")
    gains = report.summary
    lines.append(
        f"nDCG@10: hybrid_rerank - {gains['best_single_method']} = "
        f"{gains['ndcg@10_hybrid_rerank_minus_best_single']:+.4f}, "
        f"hybrid_rerank - hybrid = {gains['ndcg@10_hybrid_rerank_minus_hybrid']:+.4f}"
    )
    return "\n".join(lines)
