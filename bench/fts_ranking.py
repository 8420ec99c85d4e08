"""Which full-text ranking and which tsvector content serve retrieval best? Text-only nDCG@10.

    .venv/bin/python bench/fts_ranking.py [--dataset ../shared/data/scifact]

Needs the evaluation base kept by `bench/quality.py --keep` (database bench_quality). Each
variant ranks the same stored chunks for the same 300 queries; documents rank at their best
chunk; metrics by ranx. Writes bench/results/fts_ranking.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qa_site.settings")
os.environ.setdefault("EMBEDDED_DB_NAME", "bench_quality")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from apps.evaluation.beir import load_beir  # noqa: E402
from apps.evaluation.metrics import score  # noqa: E402
from apps.evaluation.rankers import by_document  # noqa: E402
from apps.evaluation.testbed import base_name  # noqa: E402
from apps.knowledge.models import Chunk, Document, KnowledgeBase  # noqa: E402

QUERY = "NULLIF(replace(plainto_tsquery('english', %(q)s)::text, ' & ', ' | '), '')::tsquery"
VARIANTS = {
    "ts_rank_cd (before)": "ts_rank_cd(c.search_vector, q.q)",
    "ts_rank (current)": "ts_rank(c.search_vector, q.q)",
    "ts_rank, length-normalised (1)": "ts_rank(c.search_vector, q.q, 1)",
    "ts_rank_cd, length-normalised (1)": "ts_rank_cd(c.search_vector, q.q, 1)",
}
# What goes into each chunk's tsvector, ranked with ts_rank: each variant is built into a
# scratch table from the stored chunks and their documents' titles.
_TITLE = "setweight(to_tsvector('english', d.title), '{}') || "
_REST = (
    "setweight(to_tsvector('english', c.heading), 'A') || "
    "setweight(to_tsvector('english', c.text), 'B')"
)
LEXEME_VARIANTS = {
    "heading A + text B (no title)": _REST,
    "title A + heading A + text B": _TITLE.format("A") + _REST,
    "title B + heading A + text B (current)": _TITLE.format("B") + _REST,
    "title C + heading A + text B": _TITLE.format("C") + _REST,
    "title D + heading A + text B": _TITLE.format("D") + _REST,
}
# Composed from the constants above only; the query text and base id are parameters.
SQL = f"""
WITH q AS (SELECT {QUERY} AS q)
SELECT c.chunk_id FROM {{table}} c, q
WHERE c.knowledge_base_id = %(kb)s AND c.search_vector @@ q.q
ORDER BY {{rank}} DESC, c.chunk_id LIMIT 300
"""  # noqa: S608
SCRATCH_SQL = """
CREATE TEMPORARY TABLE lexeme_variant AS
SELECT c.id AS chunk_id, c.knowledge_base_id, {expression} AS search_vector
FROM knowledge_chunk c JOIN knowledge_document d ON d.id = c.document_id
WHERE c.knowledge_base_id = %(kb)s
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", type=Path, default=ROOT.parent / "shared/data/scifact")
    args = parser.parse_args()
    dataset = load_beir(args.dataset)
    kb = KnowledgeBase.objects.get(name=base_name(dataset))
    order = list(
        Document.objects.filter(knowledge_base=kb).order_by("pk").values_list("pk", flat=True)
    )
    beir_of = {pk: entry.doc_id for pk, entry in zip(order, dataset.corpus, strict=True)}
    chunks = Chunk.objects.filter(knowledge_base=kb).values_list("pk", "document_id")
    doc_of = {chunk_id: beir_of[document_id] for chunk_id, document_id in chunks}

    def evaluate(sql_text: str) -> dict[str, float]:
        rankings = {}
        started = time.monotonic()
        with connection.cursor() as cursor:
            for query_id, text in dataset.queries.items():
                cursor.execute(sql_text, {"q": text, "kb": kb.pk})
                rankings[query_id] = by_document([r[0] for r in cursor.fetchall()], doc_of)
        seconds = time.monotonic() - started
        return {
            **score(dataset.qrels, rankings),
            "ms_per_query": round(1000 * seconds / len(dataset.queries), 1),
        }

    results = {}
    for name, rank in VARIANTS.items():
        results[name] = evaluate(SQL.format(table="knowledge_chunklexemes", rank=rank))
        print(f"{name:45s} {results[name]}")
    lexemes = {}
    for name, expression in LEXEME_VARIANTS.items():
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS lexeme_variant")
            cursor.execute(SCRATCH_SQL.format(expression=expression), {"kb": kb.pk})
        lexemes[name] = evaluate(
            SQL.format(table="lexeme_variant", rank="ts_rank(c.search_vector, q.q)")
        )
        print(f"{name:45s} {lexemes[name]}")
    out = ROOT / "bench/results/fts_ranking.json"
    out.write_text(
        json.dumps(
            {
                "dataset": str(args.dataset),
                "variants": results,
                "lexeme_variants": lexemes,
                "loadavg": os.getloadavg(),
                "cpus": os.cpu_count(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
