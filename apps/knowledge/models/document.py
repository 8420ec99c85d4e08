"""Documents: one row each, which is also the ingestion job (its state changes live here)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from pathlib import PurePath
from typing import Literal

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from apps.knowledge.mediakind import MEDIA_MIME_TYPES
from apps.knowledge.models.knowledge_base import KnowledgeBase


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

    def without_content(self) -> DocumentQuerySet:
        """The rows without their extracted text (lists and status polls never show it)."""
        return self.defer(*Document.CONTENT_FIELDS)

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
        TRANSCRIBING = "transcribing", "Transcribing"

    class PageKind(models.TextChoices):
        """What a chunk's ``page`` number counts: "page 3" of a PDF or scan, "slide 3"."""

        PAGE = "page", "page"
        SLIDE = "slide", "slide"

    knowledge_base = models.ForeignKey(
        KnowledgeBase, on_delete=models.CASCADE, related_name="documents"
    )
    # A document found inside another one (an e-mail's attachment): removed with it.
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="parts"
    )
    title = models.CharField(max_length=500)
    source_kind = models.CharField(
        max_length=10, choices=SourceKind.choices, default=SourceKind.FILE
    )
    file = models.FileField(upload_to=document_upload_path, blank=True)
    source_url = models.URLField(max_length=2000, blank=True)
    text = models.TextField(blank=True, help_text="Body for documents of kind 'text'.")
    mime_type = models.CharField(max_length=100, blank=True)
    # The extracted text the chunks' offsets point into (what the viewer renders), and its
    # pages as [page, start, end] spans; written with the chunks.
    content = models.TextField(blank=True)
    content_pages = models.JSONField(default=list, blank=True)
    # A recording's transcript: its segments as [start, end, start_seconds, end_seconds]
    # spans of ``content`` (the viewer follows playback with them); written with the chunks.
    content_times = models.JSONField(default=list, blank=True)
    page_kind = models.CharField(max_length=10, choices=PageKind.choices, default=PageKind.PAGE)
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

    @property
    def is_recording(self) -> bool:
        """Audio or video, transcribed; the viewer plays it."""
        return self.mime_type in MEDIA_MIME_TYPES

    @property
    def progress_note(self) -> str:
        """ "12 of 45 min": how much of a recording is transcribed (progress in seconds)."""
        if self.stage != self.Stage.TRANSCRIBING or not self.progress_total:
            return ""
        total = max(1, round(self.progress_total / 60))
        return f"{min(total, round(self.progress_done / 60))} of {total} min"

    # Large fields that lists, passages and status polls leave unread (``defer``).
    CONTENT_FIELDS = ("content", "content_pages", "content_times")

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
