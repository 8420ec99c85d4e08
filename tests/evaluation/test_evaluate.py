"""`manage.py evaluate` on a six-document BEIR fixture, through the real pipeline and provider.

Two queries share distinctive words with their answer; the third ("feline pets
vocalising" for the document about cats purring) shares none, so lexical methods must
miss it and the embedding must find it.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from apps.knowledge.models import Chunk, KnowledgeBase

FIXTURE = Path(__file__).resolve().parent.parent / "data" / "beir_tiny"
METHODS = {
    "bm25_documents",
    "bm25_chunks",
    "exact_cosine",
    "vector",
    "vector_hnsw",
    "text",
    "hybrid",
    "hybrid_rerank",
}


def run_evaluate(tmp_path: Path, *extra: str) -> dict[str, Any]:
    output = tmp_path / "quality.json"
    call_command(
        "evaluate",
        "--dataset",
        str(FIXTURE),
        "--workers",
        "1",
        "--output",
        str(output),
        *extra,
        stdout=StringIO(),
        stderr=StringIO(),
    )
    return dict(json.loads(output.read_text()))


def metrics_by_method(report: dict[str, Any]) -> dict[str, dict[str, float]]:
    return {method["name"]: method["metrics"] for method in report["methods"]}


def test_evaluate_scores_every_method_and_deletes_the_throwaway_base(db, tmp_path: Path) -> None:
    report = run_evaluate(tmp_path)
    metrics = metrics_by_method(report)

    assert set(metrics) == METHODS
    assert report["dataset"]["documents"] == 6
    assert report["dataset"]["queries"] == 3  # the unjudged query is left out
    assert report["knowledge_base"]["chunks"] >= 6
    for values in metrics.values():
        assert set(values) == {"ndcg@10", "recall@10", "recall@100", "mrr@10"}
        assert all(0.0 <= v <= 1.0 for v in values.values())
    # Full text finds the two answers that share words with their query, first, and not the third.
    for lexical in ("text", "bm25_chunks", "bm25_documents"):
        assert metrics[lexical]["recall@10"] == pytest.approx(2 / 3, abs=1e-4), lexical
        assert metrics[lexical]["mrr@10"] == pytest.approx(2 / 3, abs=1e-4), lexical
    # The embedding ranks every answer first, the synonym-only one included.
    for semantic in ("exact_cosine", "vector", "hybrid_rerank"):
        assert metrics[semantic]["mrr@10"] == pytest.approx(1.0, abs=1e-4), semantic
    assert not KnowledgeBase.objects.filter(name__startswith="evaluation ").exists()
    assert not Chunk.objects.exists()


def test_evaluate_with_keep_reuses_the_indexed_base_without_embedding_again(
    db, tmp_path: Path
) -> None:
    first = run_evaluate(tmp_path, "--keep")
    chunk_ids = set(Chunk.objects.values_list("pk", flat=True))
    second = run_evaluate(tmp_path, "--keep")

    assert first["knowledge_base"]["reused"] is False
    assert first["knowledge_base"]["ingested_documents"] == 6
    assert second["knowledge_base"]["reused"] is True
    assert second["knowledge_base"]["ingested_documents"] == 0
    assert set(Chunk.objects.values_list("pk", flat=True)) == chunk_ids
    assert metrics_by_method(second) == metrics_by_method(first)
    assert KnowledgeBase.objects.filter(name=first["knowledge_base"]["name"]).exists()


def test_progress_bars_show_a_line_per_tenth_in_a_log_and_redraw_on_a_terminal() -> None:
    from apps.evaluation.progress import Reporter, bar_text

    logged: list[str] = []
    bar = Reporter(write=logged.append, tty=False).bar("indexing", 50, "documents")
    for _ in range(50):
        bar.advance()
    assert len(logged) == 11 and logged[-1].startswith("indexing " + "█" * 24 + " 50/50")
    drawn: list[str] = []
    bar = Reporter(write=drawn.append, tty=True).bar("text", 3, "queries")
    for _ in range(3):
        bar.advance()
    assert [d[:1] for d in drawn] == ["\r"] * 3 and drawn[-1].endswith("\n")
    assert "about 20 s left" in bar_text("x", 1, 3, 10.0, "queries")
