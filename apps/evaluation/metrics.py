"""Scoring document rankings against a data set's judgements: ranx, checked by hand."""

from __future__ import annotations

import statistics
import warnings

from apps.evaluation.errors import EvaluationError

METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")


def score(qrels: dict[str, dict[str, int]], rankings: dict[str, list[str]]) -> dict[str, float]:
    """Every metric in ``METRICS`` for ``rankings`` (data-set document ids, best first)."""
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
