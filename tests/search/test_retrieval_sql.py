"""The hybrid SQL: exact or HNSW vector search, full text from the lexemes table."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection

from apps.knowledge.indexing import index_document
from apps.knowledge.models import Chunk, ChunkLexemes, Document, KnowledgeBase
from apps.knowledge.uploads import add_upload
from apps.search.retrieval import retrieve
from apps.search.sql import VectorPlan, hybrid_candidates, vector_plan

pytestmark = pytest.mark.django_db


def _plan(ids: list[int]):
    with connection.cursor() as cursor:
        return vector_plan(cursor, ids, limit=40)


def test_few_readable_chunks_are_ranked_exactly(knowledge_base, settings) -> None:
    settings.EXACT_SEARCH_MAX_ROWS = 20000
    assert _plan([knowledge_base.pk]).method == "exact"


def test_a_user_reading_few_of_many_chunks_gets_k_nearest_rows_through_hnsw(
    knowledge_base, alice, settings
) -> None:
    """pgvector 0.8's iterative scan: a plain HNSW walk (ef_search 100) over 3,000 chunks of
    which 1% are readable kept about one row; the iterative scan walks on until k pass."""
    import numpy as np

    settings.EXACT_SEARCH_MAX_ROWS = 0
    rng = np.random.default_rng(3)
    big = KnowledgeBase.objects.create(name="big", owner=alice)
    rows = []
    for base, count in ((big, 2970), (knowledge_base, 30)):
        document = Document.objects.create(
            knowledge_base=base, title=base.name, chunk_count=count, status="ready"
        )
        for ordinal in range(count):
            vector = rng.normal(size=384)
            rows.append(
                Chunk(
                    document=document,
                    knowledge_base=base,
                    ordinal=ordinal,
                    text=f"passage {ordinal}",
                    char_start=0,
                    char_end=10,
                    token_count=2,
                    embedding=(vector / np.linalg.norm(vector)).tolist(),
                )
            )
    Chunk.objects.bulk_create(rows, batch_size=500)
    with connection.cursor() as cursor:
        # At this size the planner would rank the 30 rows through the base index instead;
        # without it (and no sequential scan) the HNSW walk is the path under test. The
        # test's transaction rolls both back.
        cursor.execute("DROP INDEX chunk_kb_idx")
        cursor.execute("SET enable_seqscan = off")
    assert _plan([knowledge_base.pk]).method == "hnsw"
    query = rng.normal(size=384)

    def nearest(plan_iterative: str) -> list[int]:
        plan = VectorPlan("hnsw", 100, plan_iterative)
        with mock.patch("apps.search.sql.vector_plan", return_value=plan):
            candidates = hybrid_candidates(
                query_text="",
                query_vector=(query / np.linalg.norm(query)).tolist(),
                knowledge_base_ids=[knowledge_base.pk],
                limit=20,
                mode="vector",
            )
        return [c.chunk_id for c in candidates]

    readable = set(Chunk.objects.filter(knowledge_base=knowledge_base).values_list("pk", flat=True))
    assert len(nearest("off")) < 20  # the walk of 100 candidates keeps about 1% of them
    found = nearest("relaxed_order")
    assert len(found) == 20 and set(found) <= readable


def test_retrieval_works_through_the_hnsw_path_too(knowledge_base, alice, settings) -> None:
    settings.EXACT_SEARCH_MAX_ROWS = 0
    [outcome] = add_upload(
        knowledge_base=knowledge_base,
        filename="bikes.txt",
        data=b"Bike storage is in basement level -1.",
    )
    index_document(document_id=outcome.document.pk)
    result = retrieve(user=alice, question="Where can I leave my bicycle?")
    assert result.passages and "basement" in result.passages[0].text


def test_chunk_vectors_are_stored_inside_the_row(db) -> None:
    """pgvector's default EXTERNAL storage moves every vector to TOAST (bench/retrieval.py)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstorage FROM pg_attribute "
            "WHERE attrelid = 'knowledge_chunk'::regclass AND attname = 'embedding'"
        )
        assert cursor.fetchone()[0] == "p"


def _text_hits(query: str, knowledge_base: KnowledgeBase) -> set[int]:
    """Chunk ids the full-text half alone returns for ``query``."""
    candidates = hybrid_candidates(
        query_text=query,
        query_vector=[0.0] * 384,
        knowledge_base_ids=[knowledge_base.pk],
        limit=5,
        mode="text",
    )
    return {c.chunk_id for c in candidates}


def test_text_search_reads_the_lexemes_written_beside_each_chunk(knowledge_base, alice) -> None:
    [outcome] = add_upload(
        knowledge_base=knowledge_base,
        filename="handbook.md",
        data=b"# Parking permits\n\nAsk reception for a zebracode sticker before Friday.\n",
    )
    index_document(document_id=outcome.document.pk)
    chunk_ids = set(Chunk.objects.filter(document=outcome.document).values_list("pk", flat=True))
    assert set(ChunkLexemes.objects.values_list("chunk_id", flat=True)) == chunk_ids
    by_word = _text_hits("zebracode", knowledge_base)
    assert by_word and by_word <= chunk_ids


def test_lexemes_go_with_their_chunks_when_a_document_is_deleted(knowledge_base) -> None:
    [outcome] = add_upload(
        knowledge_base=knowledge_base, filename="gone.txt", data=b"Temporary words here."
    )
    index_document(document_id=outcome.document.pk)
    assert ChunkLexemes.objects.exists()
    outcome.document.delete()
    assert not ChunkLexemes.objects.exists()


def test_words_of_the_document_title_find_its_passages_by_text(knowledge_base) -> None:
    document = Document.objects.create(
        knowledge_base=knowledge_base,
        title="Zanzibar travel rules",
        source_kind=Document.SourceKind.TEXT,
        text="Book every flight through the portal and keep the receipts.",
        mime_type="text/plain",
    )
    index_document(document_id=document.pk)
    found = _text_hits("zanzibar", knowledge_base)
    assert found == set(Chunk.objects.filter(document=document).values_list("pk", flat=True))
