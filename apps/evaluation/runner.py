"""Retrieval quality on a BEIR data set, through the app's own ingestion and retrieval.

    manage.py evaluate --dataset PATH [--keep] [--output results.json]

The corpus is indexed into a throwaway knowledge base by the normal pipeline
(``testbed``); every judged query then goes through each of the ``rankers`` (the app's
vector, text, hybrid and hybrid + ``/reranking`` retrieval, and the BM25 and exact-cosine
baselines over the same stored chunks), scored by ``metrics`` (ranx) into a ``report``.
"""

from __future__ import annotations

import os
import statistics
import time

from django.conf import settings

from apps.evaluation.beir import BeirDataset
from apps.evaluation.metrics import score
from apps.evaluation.progress import Reporter
from apps.evaluation.rankers import EvalQuery, Ranker, load_chunks, methods
from apps.evaluation.report import EvaluationReport, MethodResult, new_report
from apps.evaluation.testbed import delete_base, prepare_base
from apps.modelapi.client import create_embeddings

DEFAULT_DEPTH = 300  # chunks asked per query: deduplicated, well over 100 documents


def run_method(
    name: str,
    description: str,
    ranker: Ranker,
    queries: list[EvalQuery],
    dataset: BeirDataset,
    progress: Reporter | None = None,
) -> MethodResult:
    rankings: dict[str, list[str]] = {}
    times: list[float] = []
    bar = (progress or Reporter()).bar(f"{name:<14}", len(queries), "queries")
    for query in queries:
        started = time.perf_counter()
        rankings[query.query_id] = ranker(query)
        times.append(time.perf_counter() - started)
        bar.advance()
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


def embed_queries(dataset: BeirDataset) -> tuple[list[EvalQuery], float]:
    started = time.perf_counter()
    ids = list(dataset.queries)
    vectors = create_embeddings([dataset.queries[q] for q in ids])
    seconds = time.perf_counter() - started
    return [EvalQuery(q, dataset.queries[q], v) for q, v in zip(ids, vectors, strict=True)], seconds


def evaluate(
    dataset: BeirDataset,
    *,
    keep: bool = False,
    workers: int = 1,
    depth: int = DEFAULT_DEPTH,
    progress: Reporter | None = None,
) -> EvaluationReport:
    """Index ``dataset`` (or reuse a kept base), run every method, score them with ranx."""
    progress = progress or Reporter()
    head = int(settings.RETRIEVAL_CANDIDATES)
    report = new_report(dataset, depth=depth, head=head)
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
            report.methods.append(run_method(name, description, ranker, queries, dataset, progress))
        report.timings["methods_s"] = round(time.perf_counter() - started, 1)
        report.summary = report.rerank_gains()
    finally:
        if not keep:
            delete_base(prepared.knowledge_base)
    report.machine["loadavg_end"] = list(os.getloadavg())
    return report


def _rate(count: int, seconds: float) -> float | None:
    return round(count / seconds, 2) if count and seconds > 0 else None
