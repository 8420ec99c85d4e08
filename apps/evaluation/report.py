"""What an evaluation reports: per-method figures, the setup they were measured in, a table."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings

from apps.evaluation.beir import BeirDataset
from apps.evaluation.metrics import METRICS
from apps.modelapi.client import embeddings_endpoint, rerank_endpoint


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


def new_report(dataset: BeirDataset, *, depth: int, head: int) -> EvaluationReport:
    """A report with no figures yet: the data set, the models and the parameters in use."""
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


def format_table(report: EvaluationReport) -> str:
    """The methods' metrics and ms/query as a plain-text table, then the rerank gains."""
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
