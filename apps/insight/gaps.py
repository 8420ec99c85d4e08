"""Questions the knowledge bases fail to answer, grouped by what retrieval found for them.

An answer counts as unanswered when retrieval found no passage, when it was reranked and
no passage reached ``INSIGHT_WEAK_RERANK_SCORE``, when it cites nothing, or when someone
rated it "not helpful". Questions are grouped by the stored embeddings of the passages
retrieved for them (the mean of the top three): questions that pulled up the same part of
the knowledge base fall together, and the questions for which nothing came back form a
group of their own, which is where documents are most plainly missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Exists, OuterRef, Q, Subquery

from apps.chat.models import Feedback, Message
from apps.insight.activity import answers_of
from apps.knowledge.models import Chunk

MAX_GAPS = 200  # the newest unanswered answers looked at
TOP_PASSAGES = 3  # retrieved passages whose embeddings place a question
SAME_GROUP = 0.8  # cosine between a question's place and a group's centre
REASONS = {
    "nothing_retrieved": "nothing retrieved",
    "weak_retrieval": "no passage scored well",
    "nothing_cited": "cited nothing",
    "not_helpful": "rated not helpful",
}


@dataclass
class Gap:
    answer_id: int
    question: str
    asked_at: datetime
    reasons: list[str]
    retrieved: list[dict[str, Any]]
    base_ids: list[int]

    @property
    def reason_labels(self) -> list[str]:
        return [REASONS[r] for r in self.reasons]


@dataclass
class GapGroup:
    gaps: list[Gap] = field(default_factory=list)
    centre: Any = None  # numpy vector; None for "nothing retrieved"

    @property
    def passages(self) -> list[dict[str, Any]]:
        """The passages the group's questions retrieved most often, best first."""
        counts: dict[int, tuple[int, dict[str, Any]]] = {}
        for gap in self.gaps:
            for passage in gap.retrieved[:TOP_PASSAGES]:
                seen, _ = counts.get(int(passage["chunk_id"]), (0, passage))
                counts[int(passage["chunk_id"])] = (seen + 1, passage)
        ranked = sorted(counts.values(), key=lambda item: -item[0])
        return [passage for _, passage in ranked[:3]]


def _unanswered() -> Q:
    """The module docstring's four reasons; the queryset carries the ``negative`` annotation."""
    weak = Q(metadata__reranked=True) & ~Q(
        retrieved__0__score__gte=float(settings.INSIGHT_WEAK_RERANK_SCORE)
    )
    return Q(retrieved=[]) | Q(citations=[]) | weak | Q(negative=True)


def question_text(conversation: str = "conversation", answer: str = "pk") -> Subquery:
    """The question an answer answers: the user message just before it (the outer row's
    ``conversation`` and ``answer`` fields name the answer)."""
    return Subquery(
        Message.objects.filter(
            conversation=OuterRef(conversation), role=Message.Role.USER, pk__lt=OuterRef(answer)
        )
        .order_by("-pk")
        .values("content")[:1]
    )


def _reasons(answer: Message) -> list[str]:
    reasons = []
    retrieved = answer.retrieved or []
    if not retrieved:
        reasons.append("nothing_retrieved")
    elif (answer.metadata or {}).get("reranked") and (
        float(retrieved[0].get("score") or 0) < settings.INSIGHT_WEAK_RERANK_SCORE
    ):
        reasons.append("weak_retrieval")
    if not answer.citations:
        reasons.append("nothing_cited")
    if answer.negative:  # type: ignore[attr-defined]
        reasons.append("not_helpful")
    return reasons


def find_gaps(base_ids: list[int], since: datetime) -> list[Gap]:
    """The newest ``MAX_GAPS`` unanswered answers with their questions: one query."""
    negative = Exists(Feedback.objects.filter(message=OuterRef("pk"), rating=Feedback.Rating.DOWN))
    answers = (
        answers_of(base_ids, since)
        .annotate(negative=negative)
        .filter(_unanswered())
        .annotate(question=question_text())
        .only("pk", "created_at", "retrieved", "citations", "metadata", "knowledge_base_ids")
        .order_by("-created_at", "-pk")[:MAX_GAPS]
    )
    return [
        Gap(
            answer_id=a.pk,
            question=a.question or "",
            asked_at=a.created_at,
            reasons=_reasons(a),
            retrieved=list(a.retrieved or []),
            base_ids=list(a.knowledge_base_ids or []),
        )
        for a in answers
    ]


def _places(gaps: Sequence[Gap]) -> dict[int, Any]:
    """Each gap's place: the normalised mean embedding of its top passages (one query)."""
    wanted = {
        int(p["chunk_id"]) for gap in gaps for p in gap.retrieved[:TOP_PASSAGES] if "chunk_id" in p
    }
    vectors = {
        pk: np.asarray(vector, dtype=np.float32)
        for pk, vector in Chunk.objects.filter(pk__in=wanted, embedding__isnull=False).values_list(
            "pk", "embedding"
        )
    }
    places: dict[int, Any] = {}
    for gap in gaps:
        found = [
            vectors[int(p["chunk_id"])]
            for p in gap.retrieved[:TOP_PASSAGES]
            if int(p.get("chunk_id", 0)) in vectors
        ]
        if found and len({v.shape for v in found}) == 1:
            mean = np.mean(found, axis=0)
            norm = float(np.linalg.norm(mean))
            if norm > 0:
                places[gap.answer_id] = mean / norm
    return places


def group_gaps(gaps: Sequence[Gap]) -> tuple[GapGroup, list[GapGroup]]:
    """("nothing to place them by" group, groups by place, largest first). Greedy: each
    question joins the first group whose centre is within ``SAME_GROUP``, newest first."""
    places = _places(gaps)
    unplaced = GapGroup()
    groups: list[GapGroup] = []
    for gap in gaps:
        place = places.get(gap.answer_id)
        if place is None:
            unplaced.gaps.append(gap)
            continue
        home = next(
            (
                g
                for g in groups
                if g.centre.shape == place.shape and float(g.centre @ place) >= SAME_GROUP
            ),
            None,
        )
        if home is None:
            home = GapGroup(centre=place)
            groups.append(home)
        home.gaps.append(gap)
        centre = np.mean([places[g.answer_id] for g in home.gaps], axis=0)
        home.centre = centre / max(float(np.linalg.norm(centre)), 1e-9)
    groups.sort(key=lambda g: -len(g.gaps))
    return unplaced, groups
