"""Which documents answers lean on, which they never use, and which need attention."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apps.insight.activity import answers_of
from apps.knowledge.models import Document
from apps.sources.models import SiteSource

LISTED = 20  # rows shown per list; the count says how many there are
STUCK_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class Listing:
    rows: list[Any]
    total: int


@dataclass(frozen=True)
class Cited:
    document: Document
    answers: int


def _listing(queryset: Any) -> Listing:
    rows = list(queryset[: LISTED + 1])
    total = len(rows) if len(rows) <= LISTED else queryset.count()
    return Listing(rows=rows[:LISTED], total=total)


def _documents(base_ids: list[int]) -> Any:
    return (
        Document.objects.without_content()
        .filter(knowledge_base_id__in=base_ids)
        .select_related("knowledge_base")
        .only("pk", "title", "status", "error", "knowledge_base__name", "created_at", "updated_at")
    )


def cited_counts(base_ids: list[int], since: datetime) -> Counter[int]:
    """Document id → how many answers in the window cite it (each answer once)."""
    counts: Counter[int] = Counter()
    for citations in (
        answers_of(base_ids, since).exclude(citations=[]).values_list("citations", flat=True)
    ):
        counts.update({int(c["document_id"]) for c in citations if c.get("document_id")})
    return counts


def most_cited(base_ids: list[int], counts: Counter[int]) -> list[Cited]:
    documents = {d.pk: d for d in _documents(base_ids).filter(pk__in=list(counts))}
    ranked = [(pk, n) for pk, n in counts.most_common() if pk in documents]
    return [Cited(documents[pk], n) for pk, n in ranked[:LISTED]]


def never_cited(base_ids: list[int], counts: Counter[int]) -> Listing:
    """Ready documents no answer in the window cites, oldest first."""
    unused = _documents(base_ids).filter(status=Document.Status.READY).exclude(pk__in=list(counts))
    return _listing(unused.order_by("created_at", "pk"))


def failed_documents(base_ids: list[int]) -> Listing:
    failed = _documents(base_ids).filter(status=Document.Status.FAILED)
    return _listing(failed.order_by("-updated_at", "-pk"))


def stale_documents(base_ids: list[int]) -> Listing:
    """Indexed with another embedding model than today's, or queued/processing for long."""
    stuck = Q(
        status__in=[Document.Status.QUEUED, Document.Status.PROCESSING],
        updated_at__lt=timezone.now() - STUCK_AFTER,
    )
    old_model = (
        Q(status=Document.Status.READY)
        & ~Q(indexed_embedding_model="")
        & ~Q(indexed_embedding_model=settings.EMBEDDING_MODEL)
    )
    documents = _documents(base_ids).only(
        "pk", "title", "status", "knowledge_base__name", "updated_at", "indexed_embedding_model"
    )
    return _listing(documents.filter(stuck | old_model).order_by("updated_at", "pk"))


@dataclass(frozen=True)
class SourceProblem:
    source: SiteSource
    problem: str


def source_problems(base_ids: list[int]) -> list[SourceProblem]:
    """Web sources whose last sync failed, or that are well past their re-sync time."""
    now = timezone.now()
    problems = []
    sources = SiteSource.objects.filter(knowledge_base_id__in=base_ids).select_related(
        "knowledge_base"
    )
    for source in sources.order_by("pk"):
        if source.last_outcome == SiteSource.Outcome.FAILED:
            problems.append(SourceProblem(source, source.last_error or "The last sync failed."))
        elif source.every_hours and _overdue(source, now):
            problems.append(SourceProblem(source, "Not synced for twice its re-sync interval."))
    return problems


def _overdue(source: SiteSource, now: datetime) -> bool:
    last = source.last_finished_at or source.created_at
    return now - last > timedelta(hours=2 * source.every_hours)
