"""A change of embedding model is detected; `reembed` swaps the vectors without downtime."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.knowledge.indexing import index_document
from apps.knowledge.models import Chunk, Document, KnowledgeBase
from apps.knowledge.reembed import needs_reembedding
from apps.knowledge.uploads import add_upload
from apps.search.retrieval import retrieve

pytestmark = pytest.mark.django_db


@pytest.fixture
def base_from_old_model(knowledge_base, alice) -> KnowledgeBase:
    knowledge_base.shared_with_all = True
    knowledge_base.save()
    for name, text in [
        ("hotels.txt", b"The nightly hotel cap is 180 euros in Europe."),
        ("bikes.txt", b"Bike storage is in basement level -1, next to the showers."),
    ]:
        [outcome] = add_upload(knowledge_base=knowledge_base, filename=name, data=text)
        index_document(document_id=outcome.document.pk)
    # As if indexed by another model: a foreign vector space and name.
    KnowledgeBase.objects.filter(pk=knowledge_base.pk).update(embedding_model="old-model-v1")
    for chunk in Chunk.objects.all():
        chunk.embedding = [1.0] + [0.0] * 383
        chunk.save(update_fields=["embedding"])
    knowledge_base.refresh_from_db()
    return knowledge_base


def test_a_base_from_another_model_is_searched_by_text_until_reembedded(
    base_from_old_model, bob
) -> None:
    assert needs_reembedding(base_from_old_model)
    result = retrieve(user=bob, question="hotel cap in Europe")
    assert result.passages and "180 euros" in result.passages[0].text
    assert "await re-embedding" in result.note


def test_new_documents_are_refused_until_the_base_is_reembedded(base_from_old_model) -> None:
    [outcome] = add_upload(
        knowledge_base=base_from_old_model, filename="new.txt", data=b"Fresh text about desks."
    )
    assert index_document(document_id=outcome.document.pk).outcome == "failed"
    outcome.document.refresh_from_db()
    assert "re-embed it first" in outcome.document.error


def test_reembed_swaps_in_vectors_of_the_current_model(base_from_old_model, bob, capsys) -> None:
    call_command("reembed", knowledge_base=[base_from_old_model.pk])
    assert "2 chunks moved from old-model-v1 to all-MiniLM-L6-v2" in capsys.readouterr().out
    base_from_old_model.refresh_from_db()
    assert base_from_old_model.embedding_model == "all-MiniLM-L6-v2"
    assert all(abs(float(c.embedding[0]) - 1.0) > 1e-3 for c in Chunk.objects.all())
    assert set(Document.objects.values_list("indexed_embedding_model", flat=True)) == {
        "all-MiniLM-L6-v2"
    }
    result = retrieve(user=bob, question="Where do I put my bicycle?")
    assert "basement" in result.passages[0].text and not result.note
    call_command("reembed", all=True)
    assert "already on all-MiniLM-L6-v2" in capsys.readouterr().out
