"""Hybrid retrieval in SQL: the only module with raw SQL, always parameterised.

Every query takes the list of knowledge-base ids the caller may read and filters
on it inside the SQL, so no path can forget the permission check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction

# Vector top-k (HNSW, cosine) and full-text top-k (GIN), fused by reciprocal rank.
# The full-text query ORs the question's lexemes: plainto_tsquery ANDs them, which
# finds nothing for most natural-language questions.
HYBRID_SQL = """
WITH query AS (
    SELECT %(qvec)s::vector AS qvec,
           NULLIF(replace(plainto_tsquery('english', %(qtext)s)::text, ' & ', ' | '), '')::tsquery AS q
),
vec AS (
    SELECT c.id, row_number() OVER (ORDER BY c.embedding <=> query.qvec) AS rank
    FROM knowledge_chunk c, query
    WHERE c.knowledge_base_id = ANY(%(vector_kb_ids)s)
    ORDER BY c.embedding <=> query.qvec
    LIMIT %(k)s
),
fts AS (
    SELECT c.id, row_number() OVER (ORDER BY ts_rank_cd(c.search_vector, query.q) DESC, c.id) AS rank
    FROM knowledge_chunk c, query
    WHERE c.knowledge_base_id = ANY(%(kb_ids)s) AND c.search_vector @@ query.q
    ORDER BY ts_rank_cd(c.search_vector, query.q) DESC, c.id
    LIMIT %(k)s
)
SELECT id,
       SUM(1.0 / (%(rrf_k)s + rank)) AS score,
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
) -> list[Candidate]:
    """Fused vector + full-text candidates, restricted to ``knowledge_base_ids``.

    ``vector_knowledge_base_ids`` (a subset) limits the vector half to the bases whose
    vectors share the query's embedding model; the others are searched by text only.
    """
    if not knowledge_base_ids:
        return []
    vector_ids = (
        knowledge_base_ids if vector_knowledge_base_ids is None else vector_knowledge_base_ids
    )
    params: dict[str, Any] = {
        "qvec": _vector_literal(query_vector),
        "qtext": query_text,
        "kb_ids": list(knowledge_base_ids),
        "vector_kb_ids": [i for i in vector_ids if i in set(knowledge_base_ids)],
        "k": limit,
        "rrf_k": settings.RRF_K,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('hnsw.ef_search', %s, true)", [str(settings.HNSW_EF_SEARCH)]
        )
        cursor.execute(HYBRID_SQL, params)
        rows = cursor.fetchall()
    return [Candidate(int(r[0]), float(r[1]), r[2], r[3]) for r in rows]


def _vector_literal(vector: Sequence[float]) -> str:
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"
