"""Chunks (what retrieval ranks), their full-text entries, and the BM25 postings."""

from __future__ import annotations

from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Value
from pgvector.django import HnswIndex, VectorField

from apps.knowledge.lexical import TextSearchLanguage, lexical_text
from apps.knowledge.models.document import Document
from apps.knowledge.models.knowledge_base import KnowledgeBase

# Chunk vectors have one fixed width: an HNSW index needs it. Changing the embedding
# dimension is a migration plus `reembed` (see issue 4), never a silent mix.
VECTOR_DIMENSIONS = 384


class Chunk(models.Model):
    # Indexed by chunk_document_idx (document_id, id): a document filter reads the chunk ids
    # of its documents from the index alone, never from this wide table.
    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="chunks", db_index=False
    )
    # Denormalised from the document so that the permission filter is one indexed column.
    knowledge_base = models.ForeignKey(
        KnowledgeBase, on_delete=models.CASCADE, related_name="+", db_index=False
    )  # indexed by chunk_kb_idx (the default FK index was a second, identical one)
    ordinal = models.PositiveIntegerField()
    text = models.TextField()
    heading = models.CharField(max_length=500, blank=True)
    # The heading path ("Guide › Travel › Hotels") that sources lists show; not searched.
    section = models.CharField(max_length=1000, blank=True)
    char_start = models.PositiveIntegerField()
    char_end = models.PositiveIntegerField()
    page = models.PositiveIntegerField(null=True, blank=True)
    # A passage of a recording's transcript: when it is said, in seconds from the start.
    start_seconds = models.FloatField(null=True, blank=True)
    end_seconds = models.FloatField(null=True, blank=True)
    token_count = models.PositiveIntegerField()
    embedding = VectorField(dimensions=VECTOR_DIMENSIONS)

    class Meta:
        ordering = ["document_id", "ordinal"]
        constraints = [
            models.UniqueConstraint(fields=["document", "ordinal"], name="chunk_unique_ordinal")
        ]
        indexes = [
            # m=16 / ef_construction=64 are pgvector's defaults; tuned by the benchmark (issue 7).
            HnswIndex(
                name="chunk_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            models.Index(fields=["knowledge_base"], name="chunk_kb_idx"),
            models.Index(fields=["document", "id"], name="chunk_document_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.ordinal}"

    def lexemes(self, *, title: str, language: str = TextSearchLanguage.ENGLISH) -> ChunkLexemes:
        """This chunk's full-text entry (unsaved), written beside it when it is stored.

        The document title is there as the embedding input has it (`embedding_input`), weighed
        like the text (B); the section heading weighs A. On SciFact, text-only nDCG@10: no title
        0.570, title B 0.600, title C 0.594, title A 0.559 (BENCHMARKS.md).
        """
        config = Value(language)
        return ChunkLexemes(
            chunk=self,
            knowledge_base_id=self.knowledge_base_id,
            search_vector=SearchVector(Value(lexical_text(title)), weight="B", config=config)
            + SearchVector(Value(lexical_text(self.heading)), weight="A", config=config)
            + SearchVector(Value(lexical_text(self.text)), weight="B", config=config),
        )


class ChunkLexemes(models.Model):
    """A chunk's full-text vector, in a narrow table of its own.

    Ranking full-text matches reads the tsvector of every matching row. Inside
    knowledge_chunk, beside a 1.5 kB vector, it was compressed into the TOAST table, so each
    match cost a heap page, a TOAST fetch and a decompression; here rows are small, inline and
    dense. bench/retrieval.py at 100k passages, same machine and day: full-text p95 175 ms ->
    52 ms, hybrid p95 193 ms -> 63 ms, same rankings (BENCHMARKS.md). The knowledge base is
    copied here too so that the permission filter never needs the wide table.
    """

    chunk = models.OneToOneField(
        Chunk, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    knowledge_base = models.ForeignKey(
        KnowledgeBase, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    search_vector = SearchVectorField()

    class Meta:
        # No GIN index: matching goes through LexicalPosting, which triggers keep in step.
        indexes = [models.Index(fields=["knowledge_base"], name="chunk_lexemes_kb_idx")]

    def __str__(self) -> str:
        return f"lexemes of chunk {self.chunk_id}"


class LexicalPosting(models.Model):
    """One term of one chunk: what BM25 ranks with (term frequency and chunk length).

    Written and removed only by PostgreSQL triggers on ``knowledge_chunklexemes`` (migration
    0005), in the statement that writes the lexemes, so postings can never disagree with the
    chunks, whatever path stores or deletes them. The primary key (term, knowledge base,
    chunk) with ``tf`` and ``dl`` included is the only index: looking up a query term within
    the readable bases is one range scan that never visits the table. No foreign keys: a
    cascade would need an index on ``chunk_id``; the triggers delete postings by their key.
    """

    pk = models.CompositePrimaryKey("term", "knowledge_base_id", "chunk_id")
    term = models.TextField()
    knowledge_base_id = models.BigIntegerField()
    chunk_id = models.BigIntegerField()
    tf = models.SmallIntegerField(help_text="Occurrences of the term in the chunk.")
    dl = models.SmallIntegerField(help_text="Terms in the chunk (its length for BM25).")

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.term} in chunk {self.chunk_id}"


class LexicalStats(models.Model):
    """Per knowledge base: how many chunks and terms it holds (BM25's N and average length,
    summed over the bases a user may read). Kept by the same triggers as the postings."""

    knowledge_base = models.OneToOneField(
        KnowledgeBase, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    chunk_count = models.BigIntegerField(default=0)
    length_sum = models.BigIntegerField(default=0)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"lexical statistics of base {self.knowledge_base_id}"
