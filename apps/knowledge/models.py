"""Knowledge bases, their documents, and the chunks that retrieval searches."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from pathlib import PurePath
from typing import Literal

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, Group
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import F, Q, Value
from django.utils import timezone
from pgvector.django import HnswIndex, VectorField

from apps.knowledge.lexical import TextSearchLanguage, lexical_text

# Chunk vectors have one fixed width: an HNSW index needs it. Changing the embedding
# dimension is a migration plus `reembed` (see issue 4), never a silent mix.
VECTOR_DIMENSIONS = 384


class KnowledgeBaseQuerySet(models.QuerySet["KnowledgeBase"]):
    """Who may read and who may change which knowledge base: the one access rule, used by
    every path (pages, admin, retrieval SQL, conversations). Evaluated on every request, so a
    change of groups or a deactivation applies at once."""

    def readable_by(self, user: AbstractBaseUser | AnonymousUser) -> KnowledgeBaseQuerySet:
        """Owned, shared with everyone, or with one of the user's groups (superusers: all)."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if getattr(user, "is_superuser", False):
            return self.all()
        return self.filter(
            Q(owner_id=user.pk) | Q(shared_with_all=True) | Q(groups__user=user.pk)
        ).distinct()

    def readable_ids(
        self, user: AbstractBaseUser | AnonymousUser, *, requested: list[int] | None = None
    ) -> list[int]:
        """The readable ids, narrowed to ``requested`` when given (unknown ids are dropped)."""
        ids = set(self.readable_by(user).values_list("pk", flat=True))
        if requested is not None:
            ids &= set(requested)
        return sorted(ids)

    def manageable_by(self, user: AbstractBaseUser | AnonymousUser) -> KnowledgeBaseQuerySet:
        """Knowledge bases ``user`` may change: superusers all, other staff their own."""
        if not user.is_authenticated or not user.is_active or not getattr(user, "is_staff", False):
            return self.none()
        if getattr(user, "is_superuser", False):
            return self.all()
        return self.filter(owner_id=user.pk)


class KnowledgeBase(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_knowledge_bases"
    )
    shared_with_all = models.BooleanField(
        default=False, help_text="Every signed-in user may read this knowledge base."
    )
    groups = models.ManyToManyField(
        Group, blank=True, related_name="knowledge_bases", help_text="Groups that may read it."
    )
    language = models.CharField(
        max_length=32,
        choices=TextSearchLanguage.choices,
        default=TextSearchLanguage.ENGLISH,
        help_text="How words are stemmed for text search (changing it re-indexes the text).",
    )
    embedding_model = models.CharField(max_length=200, blank=True)
    embedding_dimensions = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = KnowledgeBaseQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def sha256_hex(data: bytes) -> str:
    """The content hash that decides whether a document changed (and finds duplicates)."""
    return hashlib.sha256(data).hexdigest()


def document_upload_path(instance: Document, filename: str) -> str:
    """A generated storage name: the uploaded name is kept only as the title."""
    suffix = PurePath(filename).suffix.lower()[:10]
    if not suffix[1:].isalnum():
        suffix = ""
    return f"documents/{uuid.uuid4().hex}{suffix}"


class DocumentQuerySet(models.QuerySet["Document"]):
    """The conditional state changes of the ingestion queue: each is one UPDATE that only
    applies while the row is still in the state it expects, so two workers never both win."""

    def claim(self, *, document_id: int, stale: datetime) -> bool:
        """Move a document to ``processing`` (one more attempt); False if a live worker holds
        it (processing with a heartbeat newer than ``stale``)."""
        claimable = ~Q(status=Document.Status.PROCESSING) | Q(updated_at__lt=stale)
        updated = self.filter(claimable, pk=document_id).update(
            status=Document.Status.PROCESSING,
            attempts=F("attempts") + 1,
            stage=Document.Stage.NONE,
            progress_done=0,
            progress_total=0,
            updated_at=timezone.now(),
        )
        return updated == 1

    def touch(self, *, document_id: int) -> None:
        """A fresh ``updated_at``: the sweep does not pick the row again for one lease."""
        self.filter(pk=document_id).update(updated_at=timezone.now())

    def queued_before(self, moment: datetime) -> DocumentQuerySet:
        return self.filter(status=Document.Status.QUEUED, updated_at__lt=moment)

    def processing_before(self, moment: datetime) -> DocumentQuerySet:
        return self.filter(status=Document.Status.PROCESSING, updated_at__lt=moment)

    def release_stale(
        self, *, document_id: int, stale: datetime, max_attempts: int
    ) -> Literal["failed", "queued", "taken"]:
        """A document whose worker stopped heartbeating: back to the queue, or failed once it
        has used up its attempts; "taken" when another sweep or worker got there first."""
        stuck = self.processing_before(stale).filter(pk=document_id)
        gave_up = stuck.filter(attempts__gte=max_attempts).update(
            status=Document.Status.FAILED,
            stage=Document.Stage.NONE,
            error=(
                f"Gave up after {max_attempts} attempts: the worker stopped "
                "while indexing this document each time (out of memory?)."
            ),
            updated_at=timezone.now(),
        )
        if gave_up:
            return "failed"
        if stuck.update(
            status=Document.Status.QUEUED, stage=Document.Stage.NONE, updated_at=timezone.now()
        ):
            return "queued"
        return "taken"


class Document(models.Model):
    class SourceKind(models.TextChoices):
        FILE = "file", "File"
        URL = "url", "URL"
        TEXT = "text", "Text"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    class Stage(models.TextChoices):
        NONE = "", "—"
        FETCHING = "fetching", "Fetching"
        EXTRACTING = "extracting", "Extracting text"
        EMBEDDING = "embedding", "Embedding"
        STORING = "storing", "Storing"

    knowledge_base = models.ForeignKey(
        KnowledgeBase, on_delete=models.CASCADE, related_name="documents"
    )
    title = models.CharField(max_length=500)
    source_kind = models.CharField(
        max_length=10, choices=SourceKind.choices, default=SourceKind.FILE
    )
    file = models.FileField(upload_to=document_upload_path, blank=True)
    source_url = models.URLField(max_length=2000, blank=True)
    text = models.TextField(blank=True, help_text="Body for documents of kind 'text'.")
    mime_type = models.CharField(max_length=100, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    chunk_count = models.PositiveIntegerField(default=0)
    stage = models.CharField(max_length=12, choices=Stage.choices, blank=True, default="")
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    indexed_sha256 = models.CharField(
        max_length=64, blank=True, help_text="Content hash of the version whose chunks are stored."
    )
    indexed_embedding_model = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        indexes = [models.Index(fields=["knowledge_base", "status"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_pdf(self) -> bool:
        return self.mime_type == "application/pdf"

    # Every field a re-queue resets: new content, a re-index request and an admin edit all go
    # through ``reset_for_indexing``, so each starts with the same fresh set of attempts.
    QUEUE_FIELDS = (
        "status",
        "error",
        "stage",
        "progress_done",
        "progress_total",
        "attempts",
        "indexed_sha256",
    )

    def reset_for_indexing(self) -> None:
        """Queued, to be indexed from scratch (the stored chunks stay until replaced)."""
        self.status = self.Status.QUEUED
        self.error = ""
        self.stage = self.Stage.NONE
        self.progress_done = self.progress_total = 0
        self.attempts = 0
        self.indexed_sha256 = ""

    def queue_again(self) -> None:
        """``reset_for_indexing`` and save those fields (the caller enqueues the task)."""
        self.reset_for_indexing()
        self.save(update_fields=[*self.QUEUE_FIELDS, "updated_at"])

    def set_progress(self, stage: str, done: int = 0, total: int = 0) -> None:
        """Record the stage and progress; the write doubles as the processing heartbeat."""
        self.stage, self.progress_done, self.progress_total = stage, done, total
        self.save(update_fields=["stage", "progress_done", "progress_total", "updated_at"])

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.READY:
            return 100
        if not self.progress_total:
            return 0
        return min(100, round(100 * self.progress_done / self.progress_total))

    def mark_ready(self, *, chunk_count: int, sha256: str, embedding_model: str) -> None:
        self.status = self.Status.READY
        self.error = ""
        self.attempts = 0
        self.chunk_count = chunk_count
        self.indexed_sha256 = sha256
        self.indexed_embedding_model = embedding_model
        self.processed_at = timezone.now()
        self.stage = self.Stage.NONE
        self.save(
            update_fields=[
                "status",
                "error",
                "stage",
                "attempts",
                "chunk_count",
                "indexed_sha256",
                "indexed_embedding_model",
                "processed_at",
                "updated_at",
            ]
        )

    def mark_waiting(self, reason: str) -> None:
        """Back to the queue after a passing failure; the reason is shown until it succeeds."""
        self.status = self.Status.QUEUED
        self.error = reason[:2000]
        self.stage = self.Stage.NONE
        self.save(update_fields=["status", "error", "stage", "updated_at"])

    def mark_failed(self, reason: str) -> None:
        self.status = self.Status.FAILED
        self.error = reason[:2000]
        self.stage = self.Stage.NONE
        self.processed_at = timezone.now()
        self.save(update_fields=["status", "error", "stage", "processed_at", "updated_at"])


class Chunk(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    # Denormalised from the document so that the permission filter is one indexed column.
    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="+")
    ordinal = models.PositiveIntegerField()
    text = models.TextField()
    heading = models.CharField(max_length=500, blank=True)
    char_start = models.PositiveIntegerField()
    char_end = models.PositiveIntegerField()
    page = models.PositiveIntegerField(null=True, blank=True)
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
