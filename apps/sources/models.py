"""Site sources: a site (or one page) of a knowledge base kept in sync on a schedule.

A source row is also its sync job: a sync *claims* it with one conditional UPDATE (and a
token), writes a heartbeat after every page, and releases it with the counts of what
changed. Two syncs of one source never run at once: a claim only succeeds while no live
sync (a heartbeat newer than the lease) holds the row.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.knowledge.models import Document, KnowledgeBase

ClaimMode = Literal["queued", "scheduled", "now"]


class SiteSourceQuerySet(models.QuerySet["SiteSource"]):
    def claim(self, *, source_id: int, stale: datetime, mode: ClaimMode) -> str | None:
        """Take the source for a sync; its claim token, or None if it is not to run now.

        ``queued``: a Sync now still waiting (cancelled ones are skipped); ``scheduled``: only
        when due; ``now``: at once (the command). None while a live sync holds it."""
        free = ~Q(state=SiteSource.State.SYNCING) | Q(heartbeat_at__lt=stale)
        rows = self.filter(free, pk=source_id)
        if mode == "queued":
            rows = rows.filter(Q(state=SiteSource.State.QUEUED) | Q(state=SiteSource.State.SYNCING))
        elif mode == "scheduled":
            rows = rows.filter(every_hours__gt=0, next_sync_at__lte=timezone.now())
        token = uuid.uuid4().hex
        now = timezone.now()
        updated = rows.update(
            state=SiteSource.State.SYNCING,
            claim_token=token,
            cancel_requested=False,
            heartbeat_at=now,
            last_started_at=now,
        )
        return token if updated == 1 else None

    def heartbeat(self, *, source_id: int, token: str) -> bool:
        """Still ours, and not asked to stop: True to go on with the next page."""
        rows = self.filter(pk=source_id, claim_token=token, state=SiteSource.State.SYNCING)
        rows.update(heartbeat_at=timezone.now())
        return rows.filter(cancel_requested=False).exists()

    def request_sync(self, *, source_id: int) -> bool:
        """Sync now: queued if idle (False when queued already or running)."""
        rows = self.filter(pk=source_id, state=SiteSource.State.IDLE)
        return rows.update(state=SiteSource.State.QUEUED) == 1

    def cancel(self, *, source_id: int) -> Literal["unqueued", "stopping", "idle"]:
        """A queued sync is dropped; a running one is asked to stop after its current page."""
        if self.filter(pk=source_id, state=SiteSource.State.QUEUED).update(
            state=SiteSource.State.IDLE
        ):
            return "unqueued"
        if self.filter(pk=source_id, state=SiteSource.State.SYNCING).update(cancel_requested=True):
            return "stopping"
        return "idle"


class SiteSource(models.Model):
    class Kind(models.TextChoices):
        SITE = "site", "Site"
        PAGE = "page", "Single page"  # a URL added on its own: re-synced, never crawled

    class State(models.TextChoices):
        IDLE = "idle", "Idle"
        QUEUED = "queued", "Sync queued"
        SYNCING = "syncing", "Syncing"

    class Outcome(models.TextChoices):
        NONE = "", "—"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    knowledge_base = models.ForeignKey(
        KnowledgeBase, on_delete=models.CASCADE, related_name="site_sources"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SITE)
    start_url = models.URLField(max_length=2000, help_text="A start page or a sitemap.xml.")
    scope = models.URLField(
        max_length=2000, help_text="Only pages whose URL starts with this are fetched."
    )
    max_pages = models.PositiveIntegerField()
    max_depth = models.PositiveIntegerField(help_text="Links followed from the start page.")
    every_hours = models.PositiveIntegerField(help_text="Re-sync interval; 0: only on request.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.IDLE)
    claim_token = models.CharField(max_length=32, blank=True)
    cancel_requested = models.BooleanField(default=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    next_sync_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(
        max_length=10, choices=Outcome.choices, blank=True, default=Outcome.NONE
    )
    last_error = models.TextField(blank=True)
    added_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    removed_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SiteSourceQuerySet.as_manager()

    class Meta:
        ordering = ["start_url"]
        constraints = [
            models.UniqueConstraint(
                fields=["knowledge_base", "kind", "start_url"], name="one_source_per_start_url"
            )
        ]

    def __str__(self) -> str:
        return self.start_url

    def schedule_after(self, moment: datetime) -> datetime | None:
        """When the next scheduled sync is due after ``moment`` (None: only on request)."""
        return moment + timedelta(hours=self.every_hours) if self.every_hours else None


class SitePage(models.Model):
    """One page of a source, and the document it became (deleted with the document)."""

    source = models.ForeignKey(SiteSource, on_delete=models.CASCADE, related_name="pages")
    document = models.OneToOneField(Document, on_delete=models.CASCADE, related_name="site_page")
    url = models.URLField(max_length=2000)
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    missing_syncs = models.PositiveSmallIntegerField(
        default=0, help_text="Syncs in a row that found it gone (404/410); removed at two."
    )
    error = models.TextField(blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["url"]
        constraints = [
            models.UniqueConstraint(fields=["source", "url"], name="one_page_per_source_url")
        ]

    def __str__(self) -> str:
        return self.url
