"""The vector half of the hybrid SQL: exact for few readable chunks, HNSW for many."""

from __future__ import annotations

import pytest
from django.db import connection

from apps.knowledge.ingest import add_upload
from apps.knowledge.models import Document, KnowledgeBase
from apps.knowledge.pipeline import ingest_document
from apps.search.passages import retrieve
from apps.search.retrieval import vector_plan

pytestmark = pytest.mark.django_db


def _plan(ids: list[int]):
    with connection.cursor() as cursor:
        return vector_plan(cursor, ids, limit=40)


def test_few_readable_chunks_are_ranked_exactly(knowledge_base, settings) -> None:
    settings.EXACT_SEARCH_MAX_ROWS = 20000
    assert _plan([knowledge_base.pk]).method == "exact"


def test_selective_filters_over_many_chunks_widen_the_hnsw_search(
    knowledge_base, alice, settings
) -> None:
    settings.EXACT_SEARCH_MAX_ROWS = 10
    settings.HNSW_EF_SEARCH = 100
    other = KnowledgeBase.objects.create(name="big", owner=alice)
    Document.objects.create(knowledge_base=other, title="big", chunk_count=9_000)
    Document.objects.create(knowledge_base=knowledge_base, title="small", chunk_count=1_000)
    assert _plan([knowledge_base.pk, other.pk]) == _plan([other.pk, knowledge_base.pk])
    everything = _plan([knowledge_base.pk, other.pk])
    selective = _plan([knowledge_base.pk])
    assert (everything.method, everything.ef_search) == ("hnsw", 100)
    assert selective.method == "hnsw" and selective.ef_search == 800  # 40 * 2 / 0.1


def test_retrieval_works_through_the_hnsw_path_too(knowledge_base, alice, settings) -> None:
    settings.EXACT_SEARCH_MAX_ROWS = 0
    [outcome] = add_upload(
        knowledge_base=knowledge_base,
        filename="bikes.txt",
        data=b"Bike storage is in basement level -1.",
    )
    ingest_document(document_id=outcome.document.pk)
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
