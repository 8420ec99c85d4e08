"""One insight page's figures, for the bases a staff member manages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Case, IntegerField, Value, When

from apps.chat.models import Feedback
from apps.insight.activity import Activity, activity, window_start
from apps.insight.documents import (
    Cited,
    Listing,
    SourceProblem,
    cited_counts,
    failed_documents,
    most_cited,
    never_cited,
    source_problems,
    stale_documents,
)
from apps.insight.gaps import Gap, GapGroup, find_gaps, group_gaps, question_text
from apps.knowledge.models import Document, KnowledgeBase

WINDOWS = (7, 30, 90)
DEFAULT_WINDOW = 30
MAX_COMMENTS = 30


@dataclass(frozen=True)
class Insight:
    days: int
    activity: Activity
    unplaced: GapGroup
    groups: list[GapGroup]
    gap_count: int
    negative: list[Feedback]
    most_cited: list[Cited]
    never_cited: Listing
    failed: Listing
    stale: Listing
    sources: list[SourceProblem]


def window_days(raw: str | None) -> int:
    """``?days=`` among ``WINDOWS``; anything else is the default."""
    return int(raw) if raw in {str(d) for d in WINDOWS} else DEFAULT_WINDOW


def build_insight(
    user: AbstractBaseUser | AnonymousUser, base_ids: list[int], *, days: int
) -> Insight:
    """Every figure of the page; the number of queries does not grow with the data."""
    since = window_start(days)
    gaps = find_gaps(base_ids, since)
    _keep_readable_passages(user, gaps)
    unplaced, groups = group_gaps(gaps)
    counts = cited_counts(base_ids, since)
    return Insight(
        days=days,
        activity=activity(base_ids, days=days),
        unplaced=unplaced,
        groups=groups,
        gap_count=len(gaps),
        negative=negative_feedback(base_ids, since),
        most_cited=most_cited(base_ids, counts),
        never_cited=never_cited(base_ids, counts),
        failed=failed_documents(base_ids),
        stale=stale_documents(base_ids),
        sources=source_problems(base_ids),
    )


def _keep_readable_passages(user: AbstractBaseUser | AnonymousUser, gaps: list[Gap]) -> None:
    """A question asked of several bases shows only the passages of bases ``user`` reads."""
    ids = {int(p["document_id"]) for g in gaps for p in g.retrieved if p.get("document_id")}
    readable = set(
        Document.objects.filter(
            pk__in=ids, knowledge_base__in=KnowledgeBase.objects.readable_by(user)
        ).values_list("pk", flat=True)
    )
    for gap in gaps:
        gap.retrieved = [p for p in gap.retrieved if int(p.get("document_id") or 0) in readable]


def negative_feedback(base_ids: list[int], since: datetime) -> list[Feedback]:
    """The newest "not helpful" ratings of the window's answers, commented ones first, each
    with its ``question``."""
    no_comment = Case(
        When(comment="", then=Value(1)), default=Value(0), output_field=IntegerField()
    )
    return list(
        Feedback.objects.filter(
            rating=Feedback.Rating.DOWN,
            message__knowledge_base_ids__overlap=base_ids,
            message__created_at__gte=since,
        )
        .select_related("message")
        .only("pk", "comment", "updated_at", "message__id", "message__conversation_id")
        .annotate(question=question_text("message__conversation", "message"))
        .order_by(no_comment, "-updated_at")[:MAX_COMMENTS]
    )
