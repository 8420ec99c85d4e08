"""BM25's k1 and b for the lexical half, measured on a kept evaluation base.

    .venv/bin/python bench/bm25_params.py [--dataset ../shared/data/scifact] [--dataset …]

Needs the base that `bench/quality.py --keep` (or `manage.py evaluate --keep`) indexed into
the bench_quality database; nothing is embedded here except the queries (for the hybrid
column, through the local provider served in-process). For each (k1, b) the app's own
`hybrid_candidates` runs in text mode and in hybrid mode over every judged query; nDCG@10 is
scored by ranx as `manage.py evaluate` scores it; then the text half's weight in the fusion.
Writes bench/results/bm25_params.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qa_site.settings")
os.environ.setdefault("EMBEDDED_DB_NAME", "bench_quality")
os.environ.setdefault("APP_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from apps.evaluation.beir import load_beir  # noqa: E402
from apps.evaluation.metrics import score  # noqa: E402
from apps.evaluation.rankers import Ranker, app_ranker, hybrid_ranker  # noqa: E402
from apps.evaluation.runner import embed_queries  # noqa: E402
from apps.evaluation.testbed import base_name  # noqa: E402
from apps.knowledge.models import Chunk, KnowledgeBase  # noqa: E402
from tests.servers import serve_app  # noqa: E402

GRID = [(k1, b) for k1 in (0.9, 1.2, 1.5, 2.0) for b in (0.4, 0.6, 0.75, 0.9)]
# The text half's weight in the fusion (the vector half weighs 1), at the default k1 and b.
FUSION_GRID = [1.0, 0.8, 0.6, 0.5, 0.4, 0.3]


def ranker(kb_id: int, doc_of: dict[int, str], mode: str, depth: int) -> Ranker:
    """Text alone, or hybrid as `manage.py evaluate` (and the app) fuses it: the first
    RETRIEVAL_CANDIDATES fused, then the deeper list for the ranks the app never shows."""
    if mode == "hybrid":
        head = int(settings.RETRIEVAL_CANDIDATES)
        return hybrid_ranker(kb_id, doc_of, depth=depth, head=head, rerank=False)
    return app_ranker(kb_id, doc_of, "text", depth)


def evaluate_grid(dataset_path: Path, depth: int, *, grid: bool = True) -> dict[str, Any]:
    dataset = load_beir(dataset_path)
    base = KnowledgeBase.objects.filter(name=base_name(dataset)).first()
    if base is None:
        raise SystemExit(f"no kept base for {dataset.name}: run bench/quality.py --keep first")
    # Documents were created in corpus order (the test bed), so pk order maps to data-set ids.
    document_ids = base.documents.order_by("pk").values_list("pk", flat=True)
    beir_ids = dict(zip(document_ids, (e.doc_id for e in dataset.corpus), strict=True))
    doc_of = {
        chunk: beir_ids[document]
        for chunk, document in Chunk.objects.filter(knowledge_base=base).values_list(
            "pk", "document_id"
        )
    }
    queries, _ = embed_queries(dataset)
    fusion = []
    for weight in FUSION_GRID:
        with override_settings(RRF_TEXT_WEIGHT=weight):
            rank = ranker(base.pk, doc_of, "hybrid", depth)
            rankings = {q.query_id: rank(q) for q in queries}
        ndcg = round(score(dataset.qrels, rankings)["ndcg@10"], 4)
        print(f"{dataset.name}: text weight {weight}: hybrid {ndcg:.4f}", flush=True)
        fusion.append({"text_weight": weight, "hybrid_ndcg_at_10": ndcg})
    rows = []
    for k1, b in GRID if grid else []:
        row: dict[str, Any] = {"k1": k1, "b": b}
        with override_settings(BM25_K1=k1, BM25_B=b):
            for mode in ("text", "hybrid"):
                rank = ranker(base.pk, doc_of, mode, depth)
                started = time.perf_counter()
                rankings = {q.query_id: rank(q) for q in queries}
                row[f"{mode}_ms_per_query"] = round(
                    1000 * (time.perf_counter() - started) / len(queries), 1
                )
                row[f"{mode}_ndcg_at_10"] = round(score(dataset.qrels, rankings)["ndcg@10"], 4)
        print(
            f"{dataset.name}: k1={k1} b={b}: text {row['text_ndcg_at_10']:.4f} "
            f"hybrid {row['hybrid_ndcg_at_10']:.4f}",
            flush=True,
        )
        rows.append(row)
    return {"dataset": dataset.name, "queries": len(queries), "fusion": fusion, "grid": rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--dataset", type=Path, action="append", help="BEIR folder (repeatable)", default=None
    )
    parser.add_argument("--depth", type=int, default=300)
    parser.add_argument("--fusion-only", action="store_true", help="skip the k1 × b grid")
    parser.add_argument("--output", type=Path, default=ROOT / "bench/results/bm25_params.json")
    args = parser.parse_args()
    datasets = args.dataset or [ROOT.parent / "shared/data/scifact"]
    with serve_app() as url:
        settings.EMBEDDINGS_BASE_URL = f"{url}/local/v1"
        settings.EMBEDDINGS_API_KEY = ""
        settings.EMBEDDING_MODEL = "all-MiniLM-L6-v2"
        results = [evaluate_grid(path, args.depth, grid=not args.fusion_only) for path in datasets]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"results": results}, indent=2) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
