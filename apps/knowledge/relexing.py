"""Writing a knowledge base's full-text entries again, after its language changed.

Vectors are untouched (the embedding does not depend on the language); only the lexemes
(and, through the triggers, the BM25 postings and statistics) are rewritten, batch by batch,
each batch in its own transaction, so questions keep working meanwhile.
"""

from __future__ import annotations

from django.db import transaction

from apps.knowledge.models import Chunk, ChunkLexemes, KnowledgeBase

BATCH = 500


def relex_knowledge_base(*, knowledge_base_id: int) -> int:
    """Every chunk's lexemes in the base's current language; returns how many were written."""
    knowledge_base = KnowledgeBase.objects.get(pk=knowledge_base_id)
    chunk_ids = list(
        Chunk.objects.filter(knowledge_base=knowledge_base)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(chunk_ids), BATCH):
        batch = chunk_ids[start : start + BATCH]
        with transaction.atomic():
            chunks = list(Chunk.objects.filter(pk__in=batch).select_related("document"))
            ChunkLexemes.objects.filter(chunk_id__in=batch).delete()
            ChunkLexemes.objects.bulk_create(
                chunk.lexemes(title=chunk.document.title, language=knowledge_base.language)
                for chunk in chunks
            )
    return len(chunk_ids)
