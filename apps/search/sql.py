"""Hybrid retrieval in SQL: the only module with raw SQL, always parameterised.

Every query takes the list of knowledge-base ids the caller may read and filters
on it inside the SQL, so no path can forget the permission check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings
from django.db import connection, transaction

from apps.knowledge.lexical import lexical_text
from apps.search.filters import NO_FILTER, DocumentFilter

# Vector top-k (HNSW, cosine) and lexical top-k (BM25), fused by reciprocal rank.
#
# The lexical half is BM25 over knowledge_lexicalposting (kept by triggers, migration 0005):
# the question's lexemes (to_tsvector in the language of each readable base: the same
# stemming and stop words as its chunks; CJK runs as character pairs, lexical_text) are
# looked up in the primary key (term, base, chunk) INCLUDE (tf, dl) within the readable
# bases — an index-only range scan per term — and every statistic comes from the readable
# bases only: a term's document frequency is counted over the postings found, N and the
# average length are summed from knowledge_lexicalstats. So ranks never depend on text the
# user cannot read. IDF is Lucene's ln(1 + (N - df + 0.5) / (df + 0.5)), never negative.
# It replaced ts_rank over OR-ed lexemes (no IDF, no length normalisation): BENCHMARKS.md.
#
# The vector half orders by the distance to the query literal itself, the shape that lets
# the planner walk the HNSW index, with pgvector 0.8's iterative index scan: when the
# permission filter drops candidates, the walk goes on (up to hnsw.max_scan_tuples) until k
# rows pass, so a user who may read few bases still gets k nearest rows, without the
# ef_search widening pgvector 0.6 needed. relaxed_order may return the k rows slightly out
# of order; they are re-sorted by distance (vec_scan is materialised, then ranked). For
# small readable sets the distance is wrapped (`+ 0`) so that the index cannot serve it and
# the rows are ranked exactly (cheaper at that size: EXACT_SEARCH_MAX_ROWS, BENCHMARKS.md).
VECTOR_ORDER = {
    "hnsw": "c.embedding <=> %(qvec)s::vector",
    "exact": "(c.embedding <=> %(qvec)s::vector) + 0",
}
#
# A document filter (apps/search/filters.py) adds the scope_docs CTE: the readable documents
# that match it (by id or parent id, MIME type, date added); both halves then keep only the
# chunks of those documents. BM25's statistics (N, average length and each term's document
# frequency) stay those of the whole readable bases: a filter narrows where answers come
# from, not how rare a word is. So the postings are read as without a filter and only the
# scoring keeps the scope's chunks.
SCOPE_SQL = """
scope_docs AS MATERIALIZED (
    SELECT d.id FROM knowledge_document d
    WHERE d.knowledge_base_id = ANY(%(scope_kb_ids)s)
      AND (%(f_doc_ids)s::bigint[] IS NULL OR d.id = ANY(%(f_doc_ids)s)
           OR d.parent_id = ANY(%(f_doc_ids)s))
      AND (%(f_mimes)s::text[] IS NULL OR d.mime_type = ANY(%(f_mimes)s))
      AND (%(f_after)s::date IS NULL OR d.created_at >= %(f_after)s::date)
      AND (%(f_before)s::date IS NULL OR d.created_at < %(f_before)s::date + 1)
),
"""
VECTOR_SCOPE = "AND c.document_id IN (SELECT id FROM scope_docs)"
POSTING_SCOPE = (
    "WHERE p.chunk_id IN (SELECT sc.id FROM knowledge_chunk sc "
    "WHERE sc.document_id IN (SELECT id FROM scope_docs))"
)
HYBRID_SQL = """
WITH {scope}vec_scan AS MATERIALIZED (
    SELECT c.id, c.embedding <=> %(qvec)s::vector AS distance
    FROM knowledge_chunk c
    WHERE c.knowledge_base_id = ANY(%(vector_kb_ids)s) {vector_scope}
    ORDER BY {vector_order}
    LIMIT %(k)s
),
vec AS (
    SELECT id, row_number() OVER (ORDER BY distance, id) AS rank FROM vec_scan
),
terms AS (
    SELECT DISTINCT t.lexeme AS term
    FROM (SELECT DISTINCT language FROM knowledge_knowledgebase WHERE id = ANY(%(kb_ids)s)) kb,
         unnest(to_tsvector(kb.language::regconfig, %(qtext)s)) AS t
),
postings AS MATERIALIZED (
    SELECT p.chunk_id, p.term, p.tf, p.dl
    FROM terms JOIN knowledge_lexicalposting p ON p.term = terms.term
    WHERE p.knowledge_base_id = ANY(%(kb_ids)s)
),
corpus AS (
    SELECT GREATEST(SUM(chunk_count), 1)::float8 AS n,
           GREATEST(SUM(length_sum)::float8 / GREATEST(SUM(chunk_count), 1), 1.0) AS avgdl
    FROM knowledge_lexicalstats
    WHERE knowledge_base_id = ANY(%(kb_ids)s)
),
idf AS (
    SELECT p.term, ln(1 + (corpus.n - count(*) + 0.5) / (count(*) + 0.5)) AS idf
    FROM postings p, corpus
    GROUP BY p.term, corpus.n
),
bm25 AS (
    SELECT p.chunk_id AS id,
           SUM(idf.idf * p.tf * (%(k1)s + 1)
               / (p.tf + %(k1)s * (1 - %(b)s + %(b)s * p.dl / corpus.avgdl))) AS score
    FROM postings p JOIN idf ON idf.term = p.term, corpus
    {posting_scope}
    GROUP BY p.chunk_id
),
fts AS (
    SELECT id, row_number() OVER (ORDER BY score DESC, id) AS rank
    FROM bm25
    ORDER BY score DESC, id
    LIMIT %(k)s
)
SELECT id,
       SUM(CASE WHEN source = 'vec' THEN %(w_vec)s ELSE %(w_fts)s END / (%(rrf_k)s + rank)) AS score,
       MIN(rank) FILTER (WHERE source = 'vec') AS vector_rank,
       MIN(rank) FILTER (WHERE source = 'fts') AS text_rank
FROM (
    SELECT id, rank, 'vec' AS source FROM vec
    UNION ALL
    SELECT id, rank, 'fts' AS source FROM fts
) ranked
GROUP BY id
ORDER BY score DESC, id
LIMIT %(k)s
"""


RetrievalMode = Literal["hybrid", "vector", "text"]


@dataclass(frozen=True)
class Candidate:
    chunk_id: int
    score: float
    vector_rank: int | None
    text_rank: int | None


def hybrid_candidates(
    *,
    query_text: str,
    query_vector: Sequence[float],
    knowledge_base_ids: Sequence[int],
    limit: int,
    vector_knowledge_base_ids: Sequence[int] | None = None,
    mode: RetrievalMode = "hybrid",
    document_filter: DocumentFilter = NO_FILTER,
) -> list[Candidate]:
    """Fused vector + full-text candidates, restricted to ``knowledge_base_ids``.

    ``vector_knowledge_base_ids`` (a subset) limits the vector half to the bases whose
    vectors share the query's embedding model; the others are searched by text only.
    ``mode`` "vector" or "text" keeps one half only (evaluation and benchmarks); the
    order is then that half's own ranking. ``document_filter`` keeps the chunks of the
    matching documents only.
    """
    if not knowledge_base_ids:
        return []
    vector_ids = (
        knowledge_base_ids if vector_knowledge_base_ids is None else vector_knowledge_base_ids
    )
    readable = set(knowledge_base_ids)
    params: dict[str, Any] = {
        "qvec": _vector_literal(query_vector),
        "qtext": lexical_text(query_text),
        "kb_ids": [] if mode == "vector" else list(knowledge_base_ids),
        "vector_kb_ids": [] if mode == "text" else [i for i in vector_ids if i in readable],
        "k": limit,
        "rrf_k": settings.RRF_K,
        "w_vec": float(settings.RRF_VECTOR_WEIGHT),
        "w_fts": float(settings.RRF_TEXT_WEIGHT),
        "k1": float(settings.BM25_K1),
        "b": float(settings.BM25_B),
        "scope_kb_ids": list(knowledge_base_ids),
        **document_filter.sql_params(),
    }
    filtered = not document_filter.is_empty
    sql = HYBRID_SQL.format(
        scope=SCOPE_SQL if filtered else "",
        vector_scope=VECTOR_SCOPE if filtered else "",
        posting_scope=POSTING_SCOPE if filtered else "",
        vector_order="{vector_order}",
    )
    with transaction.atomic(), connection.cursor() as cursor:
        plan = vector_plan(
            cursor, params["vector_kb_ids"], limit=limit, scope=params if filtered else None
        )
        cursor.execute(
            "SELECT set_config('hnsw.ef_search', %s, true), "
            "set_config('hnsw.iterative_scan', %s, true), "
            "set_config('hnsw.max_scan_tuples', %s, true)",
            [str(plan.ef_search), plan.iterative_scan, str(settings.HNSW_MAX_SCAN_TUPLES)],
        )
        cursor.execute(sql.format(vector_order=VECTOR_ORDER[plan.method]), params)
        rows = cursor.fetchall()
    return [Candidate(int(r[0]), float(r[1]), r[2], r[3]) for r in rows]


@dataclass(frozen=True)
class VectorPlan:
    method: str
    ef_search: int
    iterative_scan: str = "relaxed_order"  # or "off" (benchmarks compare)


CHUNK_COUNTS_SQL = """
SELECT COALESCE(SUM(chunk_count) FILTER (WHERE knowledge_base_id = ANY(%s)), 0),
       COALESCE(SUM(chunk_count), 0)
FROM knowledge_document
"""


# The same conditions as SCOPE_SQL, counted: how many chunks a filtered vector search ranks.
SCOPED_CHUNK_COUNTS_SQL = """
SELECT COALESCE(SUM(d.chunk_count) FILTER (
           WHERE d.knowledge_base_id = ANY(%(vector_kb_ids)s)
             AND (%(f_doc_ids)s::bigint[] IS NULL OR d.id = ANY(%(f_doc_ids)s)
                  OR d.parent_id = ANY(%(f_doc_ids)s))
             AND (%(f_mimes)s::text[] IS NULL OR d.mime_type = ANY(%(f_mimes)s))
             AND (%(f_after)s::date IS NULL OR d.created_at >= %(f_after)s::date)
             AND (%(f_before)s::date IS NULL OR d.created_at < %(f_before)s::date + 1)), 0),
       COALESCE(SUM(d.chunk_count), 0)
FROM knowledge_document d
"""


def vector_plan(
    cursor: Any, knowledge_base_ids: list[int], *, limit: int, scope: dict[str, Any] | None = None
) -> VectorPlan:
    """Exact ranking for few readable (and, with a filter, matching) chunks; otherwise HNSW
    with iterative scans. ``scope``: the query's parameters when a document filter is set."""
    if scope is None:
        cursor.execute(CHUNK_COUNTS_SQL, [knowledge_base_ids])
    else:
        cursor.execute(SCOPED_CHUNK_COUNTS_SQL, scope)
    readable, total = (int(x) for x in cursor.fetchone())
    ef_search = max(int(settings.HNSW_EF_SEARCH), limit)
    if readable <= int(settings.EXACT_SEARCH_MAX_ROWS) or total == 0:
        return VectorPlan("exact", ef_search)
    return VectorPlan("hnsw", ef_search)


def _vector_literal(vector: Sequence[float]) -> str:
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"
