"""Re-embedding a knowledge base with the configured model, without downtime.

While new vectors are computed the base keeps answering: retrieval searches it by
text only (its vectors belong to another model), and the old vectors stay in place.
The new vectors replace the old ones, and the base's recorded model changes, in one
transaction at the end, so no question ever mixes two vector spaces.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from apps.knowledge.embedding import embed_inputs, embedding_input
from apps.knowledge.models import VECTOR_DIMENSIONS, Chunk, Document, KnowledgeBase
from apps.modelapi.client import embeddings_endpoint

BATCH = 256


@dataclass(frozen=True)
class ReembedResult:
    knowledge_base: str
    previous_model: str
    model: str
    chunks: int


def needs_reembedding(knowledge_base: KnowledgeBase) -> bool:
    model = embeddings_endpoint().model
    return bool(knowledge_base.embedding_model) and knowledge_base.embedding_model != model


def reembed_knowledge_base(
    *, knowledge_base: KnowledgeBase, progress: Callable[[int, int], None] | None = None
) -> ReembedResult:
    """Compute every chunk's vector with the configured model, then swap them in at once."""
    model = embeddings_endpoint().model
    previous = knowledge_base.embedding_model
    chunk_ids = list(
        Chunk.objects.filter(knowledge_base=knowledge_base)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    vectors: dict[int, list[float]] = {}
    for start in range(0, len(chunk_ids), BATCH):
        batch = list(
            Chunk.objects.filter(pk__in=chunk_ids[start : start + BATCH])
            .select_related("document")
            .order_by("pk")
        )
        inputs = [
            embedding_input(title=c.document.title, heading=c.heading, text=c.text) for c in batch
        ]
        for chunk, vector in zip(batch, embed_inputs(inputs), strict=True):
            vectors[chunk.pk] = vector
        if progress is not None:
            progress(len(vectors), len(chunk_ids))
    with transaction.atomic():
        locked = KnowledgeBase.objects.select_for_update().get(pk=knowledge_base.pk)
        current = Chunk.objects.filter(pk__in=list(vectors)).only("pk", "embedding")
        updated = []
        for chunk in current:
            chunk.embedding = vectors[chunk.pk]
            updated.append(chunk)
        Chunk.objects.bulk_update(updated, ["embedding"], batch_size=500)
        # Chunks written meanwhile by ingestion carry the new model already (it refuses
        # mismatched bases), so after the swap the whole base is in one space.
        locked.embedding_model = model
        locked.embedding_dimensions = VECTOR_DIMENSIONS
        locked.save(update_fields=["embedding_model", "embedding_dimensions"])
        Document.objects.filter(knowledge_base=locked, status=Document.Status.READY).update(
            indexed_embedding_model=model
        )
    return ReembedResult(locked.name, previous, model, len(updated))
