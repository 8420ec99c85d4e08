"""Use and grounding of the answers over a window: per day, cited share, time to first words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Aggregate, Count, FloatField, Q, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone

from apps.chat.models import Message


class Percentile(Aggregate):
    """PostgreSQL's ``percentile_cont(f) WITHIN GROUP (ORDER BY expr)``."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float) -> None:
        super().__init__(expression, fraction=float(fraction))


def answers_of(base_ids: list[int], since: datetime) -> QuerySet[Message]:
    """The stored answers asked of any of ``base_ids`` since ``since``."""
    return Message.objects.filter(
        role=Message.Role.ASSISTANT,
        knowledge_base_ids__overlap=base_ids,
        created_at__gte=since,
    )


@dataclass(frozen=True)
class Day:
    day: date
    answers: int
    cited: int


@dataclass(frozen=True)
class Activity:
    answers: int
    cited: int
    ttft_median: float | None
    ttft_p90: float | None
    days: list[Day]
    busiest: int

    @property
    def cited_share(self) -> float | None:
        return self.cited / self.answers if self.answers else None


_TTFT = Cast(KT("metadata__ttft_seconds"), FloatField())
_CITED = ~Q(citations=[])


def activity(base_ids: list[int], *, days: int) -> Activity:
    """Two queries: the totals with the time to first words, and the counts per day."""
    since = window_start(days)
    answers = answers_of(base_ids, since)
    totals = answers.aggregate(
        answers=Count("pk"),
        cited=Count("pk", filter=_CITED),
        ttft_median=Percentile(_TTFT, 0.5),
        ttft_p90=Percentile(_TTFT, 0.9),
    )
    per_day: dict[date, dict[str, Any]] = {
        row["day"]: dict(row)
        for row in answers.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(answers=Count("pk"), cited=Count("pk", filter=_CITED))
    }
    today = timezone.localdate()
    series = []
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        row: dict[str, Any] = per_day.get(day, {})
        series.append(Day(day=day, answers=row.get("answers", 0), cited=row.get("cited", 0)))
    return Activity(
        answers=totals["answers"],
        cited=totals["cited"],
        ttft_median=totals["ttft_median"],
        ttft_p90=totals["ttft_p90"],
        days=series,
        busiest=max((d.answers for d in series), default=0),
    )


def window_start(days: int) -> datetime:
    """Midnight (local time) ``days - 1`` days ago: the window holds ``days`` calendar days."""
    first = timezone.localdate() - timedelta(days=days - 1)
    return timezone.make_aware(datetime.combine(first, datetime.min.time()))
