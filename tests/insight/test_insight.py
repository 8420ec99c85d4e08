"""The insight pages: figures, unanswered questions grouped, feedback, documents, scope."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from apps.chat.answering import ask
from apps.chat.models import Conversation, Feedback, Message
from apps.insight.activity import activity, window_start
from apps.insight.gaps import find_gaps, group_gaps
from apps.knowledge.models import VECTOR_DIMENSIONS, Chunk, Document, KnowledgeBase
from apps.sources.models import SiteSource

pytestmark = pytest.mark.django_db


def _answer(
    base: KnowledgeBase,
    question: str,
    *,
    cited: Document | None = None,
    retrieved: list[Chunk] | None = None,
    score: float = 0.8,
    ttft: float | None = 1.0,
    days_ago: int = 0,
    user: User | None = None,
    bases: list[int] | None = None,
) -> Message:
    conversation = Conversation.objects.create(user=user or base.owner, title=question[:200])
    Message.objects.create(conversation=conversation, role="user", content=question)
    chunks = retrieved or []
    citations = []
    if cited is not None:
        citations = [{"number": 1, "start": 0, "end": 4, "chunk_id": 1, "document_id": cited.pk,
                      "title": cited.title, "page": None, "url": "", "text": "x", "kind": "marker"}]  # fmt: skip
    answer = Message.objects.create(
        conversation=conversation,
        role="assistant",
        content="Some answer.",
        citations=citations,
        retrieved=[
            {
                "chunk_id": c.pk,
                "document_id": c.document_id,
                "title": c.document.title,
                "text": c.text,
                "score": score,
                "page": None,
                "section": "",
            }
            for c in chunks
        ],  # fmt: skip
        metadata={"reranked": True, **({"ttft_seconds": ttft} if ttft is not None else {})},
        knowledge_base_ids=bases or [base.pk],
    )
    if days_ago:
        moment = timezone.now() - timedelta(days=days_ago)
        Message.objects.filter(pk=answer.pk).update(created_at=moment)
    return answer


def _staff_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_figures_count_answers_per_day_the_cited_share_and_time_to_first_words(
    alice, knowledge_base
) -> None:
    document = Document.objects.create(knowledge_base=knowledge_base, title="policy.md")
    for seconds in (1.0, 2.0, 3.0, 4.0):
        _answer(knowledge_base, "Cited?", cited=document, ttft=seconds)
    _answer(knowledge_base, "Uncited", ttft=None, days_ago=2)
    _answer(knowledge_base, "Too old", days_ago=40)
    figures = activity([knowledge_base.pk], days=30)
    assert figures.answers == 5 and figures.cited == 4 and figures.cited_share == 0.8
    assert figures.ttft_median == 2.5 and figures.ttft_p90 == pytest.approx(3.7)
    assert (
        len(figures.days) == 30 and figures.days[-1].answers == 4 and figures.days[-3].answers == 1
    )
    html = _staff_client(alice).get(f"/kb/{knowledge_base.pk}/insight/").content.decode()
    assert 'data-figure="answers">5<' in html and 'data-figure="cited-share">80 %<' in html
    assert "2.5 s · 3.7 s" in html
    week = _staff_client(alice).get(f"/kb/{knowledge_base.pk}/insight/?days=7").content.decode()
    assert 'data-figure="answers">5<' in week
    ninety = _staff_client(alice).get(f"/kb/{knowledge_base.pk}/insight/?days=90").content.decode()
    assert 'data-figure="answers">6<' in ninety


def test_unanswered_questions_are_found_by_every_reason_and_grouped_by_what_was_retrieved(
    demo_world,
) -> None:
    base = demo_world.knowledge_base
    documents = {d.title: d for d in demo_world.documents}
    by_doc = {
        title: list(Chunk.objects.filter(document=d).order_by("pk")[:3])
        for title, d in documents.items()
        if Chunk.objects.filter(document=d).count() >= 3
    }
    first, second = sorted(by_doc)[:2]
    good = _answer(base, "Answered well", cited=documents[first], retrieved=by_doc[first])
    weak_a = _answer(
        base, f"Weak about {first} 1", cited=documents[first], retrieved=by_doc[first], score=0.1
    )
    uncited_a = _answer(base, f"Uncited about {first} 2", retrieved=by_doc[first])
    uncited_b = _answer(base, f"Uncited about {second}", retrieved=by_doc[second])
    nothing = _answer(base, "About something we lack")
    disliked = _answer(base, "Disliked", cited=documents[second], retrieved=by_doc[second])
    Feedback.objects.create(message=disliked, user=demo_world.user, rating=-1, comment="Wrong")

    gaps = find_gaps([base.pk], window_start(30))
    reasons = {g.answer_id: g.reasons for g in gaps}
    assert good.pk not in reasons
    assert reasons[weak_a.pk] == ["weak_retrieval"]
    assert reasons[uncited_a.pk] == ["nothing_cited"]
    assert reasons[nothing.pk] == ["nothing_retrieved", "nothing_cited"]
    assert reasons[disliked.pk] == ["not_helpful"]
    unplaced, groups = group_gaps(gaps)
    assert [g.answer_id for g in unplaced.gaps] == [nothing.pk]
    members = sorted(sorted(g.answer_id for g in group.gaps) for group in groups)
    assert members == sorted(
        [sorted([weak_a.pk, uncited_a.pk]), sorted([uncited_b.pk, disliked.pk])]
    )
    questions = {g.answer_id: g.question for g in gaps}
    assert questions[nothing.pk] == "About something we lack"


def test_a_real_off_topic_question_shows_up_as_unanswered_with_its_passages(demo_world) -> None:
    base = demo_world.knowledge_base
    user = demo_world.user
    user.is_staff = True
    user.save()
    ask(user=user, question="How often are laptops replaced?", knowledge_base_ids=[base.pk])
    ask(user=user, question="Who won the football world cup in 1998?", knowledge_base_ids=[base.pk])
    client = _staff_client(user)
    html = client.get(f"/kb/{base.pk}/insight/").content.decode()
    assert "Who won the football world cup in 1998?" in html
    assert "How often are laptops replaced?" not in html
    assert "no passage scored well" in html and "Passages retrieved for them" in html


def test_negative_feedback_shows_the_question_and_the_comment(alice, bob, knowledge_base) -> None:
    answer = _answer(knowledge_base, "Where is the VPN guide?")
    Feedback.objects.create(message=answer, user=bob, rating=-1, comment="It pointed to 2019 notes")
    plain = _answer(knowledge_base, "Printer on floor 2?")
    Feedback.objects.create(message=plain, user=bob, rating=-1)
    liked = _answer(knowledge_base, "Liked one")
    Feedback.objects.create(message=liked, user=bob, rating=1, comment="Great")
    html = _staff_client(alice).get(f"/kb/{knowledge_base.pk}/insight/").content.decode()
    section = html.split("Rated not helpful", 1)[1].split("<h2>Documents", 1)[0]
    assert "Where is the VPN guide?" in section and "It pointed to 2019 notes" in section
    assert section.index("VPN guide") < section.index("Printer on floor 2?")
    assert "Great" not in section and "Liked one" not in section


def test_documents_most_and_never_cited_failed_stale_and_sources_needing_attention(
    alice, knowledge_base, settings
) -> None:
    used = Document.objects.create(knowledge_base=knowledge_base, title="used.md", status="ready")
    unused = Document.objects.create(
        knowledge_base=knowledge_base, title="unused.md", status="ready"
    )
    broken = Document.objects.create(
        knowledge_base=knowledge_base, title="broken.pdf", status="failed", error="Not a PDF."
    )
    old = Document.objects.create(
        knowledge_base=knowledge_base, title="old-model.md", status="ready",
        indexed_embedding_model="some-older-model",
    )  # fmt: skip
    for _ in range(3):
        _answer(knowledge_base, "Q", cited=used)
    _answer(knowledge_base, "Q", cited=old)
    SiteSource.objects.create(
        knowledge_base=knowledge_base, start_url="https://failing.example/", max_pages=5,
        max_depth=1, every_hours=24, last_outcome="failed", last_error="robots.txt refused",
    )  # fmt: skip
    late = SiteSource.objects.create(
        knowledge_base=knowledge_base, start_url="https://late.example/", max_pages=5,
        max_depth=1, every_hours=24, last_outcome="done",
        last_finished_at=timezone.now() - timedelta(days=3),
    )  # fmt: skip
    SiteSource.objects.create(
        knowledge_base=knowledge_base, start_url="https://fine.example/", max_pages=5,
        max_depth=1, every_hours=24, last_outcome="done", last_finished_at=timezone.now(),
    )  # fmt: skip
    html = _staff_client(alice).get(f"/kb/{knowledge_base.pk}/insight/").content.decode()
    most = html.split('id="most-cited"', 1)[1].split("</section>", 1)[0]
    assert most.index("used.md") < most.index("old-model.md") and "3 answers" in most
    never = html.split('id="never-cited"', 1)[1].split("</section>", 1)[0]
    assert "unused.md" in never and "used.md</a>" not in never.replace("unused.md</a>", "")
    failed = html.split('id="failed"', 1)[1].split("</section>", 1)[0]
    assert "broken.pdf" in failed and "Not a PDF." in failed
    stale = html.split('id="stale"', 1)[1].split("</section>", 1)[0]
    assert "old-model.md" in stale and "unused.md" not in stale
    sources = html.split("Web sources needing attention", 1)[1]
    assert "failing.example" in sources and "robots.txt refused" in sources
    assert "late.example" in sources and "fine.example" not in sources
    assert late.pk and broken.pk and unused.pk


def test_the_pages_show_only_the_bases_the_viewer_manages(alice, bob, knowledge_base) -> None:
    other_staff = User.objects.create_user("dora", is_staff=True)
    theirs = KnowledgeBase.objects.create(name="Dora base", owner=other_staff)
    _answer(theirs, "Dora secret question")
    _answer(knowledge_base, "Alice question")
    html = _staff_client(alice).get("/kb/insight/").content.decode()
    assert "Alice question" in html and "Dora secret question" not in html
    assert "Dora base" not in html
    assert _staff_client(alice).get(f"/kb/{theirs.pk}/insight/").status_code == 404
    assert _staff_client(bob).get("/kb/insight/").status_code == 404
    assert _staff_client(bob).get(f"/kb/{knowledge_base.pk}/insight/").status_code == 404
    assert Client().get("/kb/insight/").status_code == 302


def test_a_question_asked_of_several_bases_shows_only_the_passages_the_viewer_may_read(
    alice, knowledge_base
) -> None:
    other_staff = User.objects.create_user("dora", is_staff=True)
    theirs = KnowledgeBase.objects.create(name="Dora base", owner=other_staff)
    mine = Document.objects.create(knowledge_base=knowledge_base, title="mine.md")
    secret = Document.objects.create(knowledge_base=theirs, title="secret.md")
    chunks = [
        Chunk.objects.create(
            document=d,
            ordinal=0,
            text=f"text of {d.title}",
            char_start=0,
            char_end=10,
            token_count=3,
            knowledge_base=d.knowledge_base,
            embedding=[0.1] * VECTOR_DIMENSIONS,
        )
        for d in (mine, secret)
    ]
    _answer(knowledge_base, "Across both", retrieved=chunks, bases=[knowledge_base.pk, theirs.pk])
    html = _staff_client(alice).get("/kb/insight/").content.decode()
    assert "Across both" in html and "mine.md" in html
    assert "secret.md" not in html and "text of secret" not in html


@pytest.mark.parametrize("days", ["", "abc", "-1", "365", "9" * 30])
def test_an_unknown_period_is_the_default_thirty_days(alice, knowledge_base, days: Any) -> None:
    response = _staff_client(alice).get(f"/kb/{knowledge_base.pk}/insight/", {"days": days})
    assert (
        response.status_code == 200
        and 'href="?days=30" aria-current="page"' in response.content.decode()
    )


def test_a_staff_member_without_bases_is_told_so(db) -> None:
    staff = User.objects.create_user("newcomer", is_staff=True)
    html = _staff_client(staff).get("/kb/insight/").content.decode()
    assert "You manage no knowledge base yet" in html


def test_answers_stored_before_the_change_count_for_their_conversations_bases(
    alice, knowledge_base
) -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("apps.chat.migrations.0004_answer_knowledge_bases")
    conversation = Conversation.objects.create(user=alice, title="Old")
    conversation.knowledge_bases.add(knowledge_base)
    question = Message.objects.create(conversation=conversation, role="user", content="Old?")
    answer = Message.objects.create(conversation=conversation, role="assistant", content="Yes.")
    other = KnowledgeBase.objects.create(name="Other", owner=alice)
    elsewhere = Document.objects.create(knowledge_base=other, title="other.md")
    follow_up = Message.objects.create(
        conversation=conversation, role="assistant", content="From the other base.",
        retrieved=[{"chunk_id": 1, "document_id": elsewhere.pk}],
    )  # fmt: skip
    migration.backfill(apps, None)
    for message in (answer, question, follow_up):
        message.refresh_from_db()
    assert answer.knowledge_base_ids == [knowledge_base.pk] and question.knowledge_base_ids == []
    assert follow_up.knowledge_base_ids == [other.pk]  # asked of another base than the first
    assert activity([knowledge_base.pk], days=7).answers == 1
