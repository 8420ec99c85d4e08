"""The hot pages run a fixed number of queries, however many items they show (zulip-style).

Each page is built with 2 and then with 8 items (messages, passages, documents) and asked
for under ``django_assert_max_num_queries``: the budget is today's count, with a comment
naming each query, and the two counts must be equal. A count that grows with the items is
an N+1. Everything goes through URLs and models, not internal modules, so the tests survive
modules being moved. Model calls (embeddings, reranking) go over HTTP to the local provider,
served by another thread on its own connection: they are not counted here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.chat.models import Conversation, Feedback, Message
from apps.knowledge.models import VECTOR_DIMENSIONS, Chunk, Document, KnowledgeBase

pytestmark = pytest.mark.django_db

SMALL, LARGE = 2, 8

# Every signed-in request starts with these two (django.contrib.sessions + auth).
SESSION_AND_USER = 2


def _sql(captured: CaptureQueriesContext) -> str:
    return "\n".join(f"  {i}. {q['sql']}" for i, q in enumerate(captured.captured_queries, 1))


def assert_same_count(small: CaptureQueriesContext, large: CaptureQueriesContext) -> None:
    assert len(small) == len(large), (
        f"queries grow with the items: {len(small)} with {SMALL}, {len(large)} with {LARGE}\n"
        f"with {SMALL}:\n{_sql(small)}\nwith {LARGE}:\n{_sql(large)}"
    )


@pytest.fixture
def measure(client: Client, django_assert_max_num_queries: Any) -> Callable[..., Any]:
    """GET ``url`` within a query budget; the response and the captured queries."""

    def get(url: str, budget: int, **params: str) -> tuple[Any, CaptureQueriesContext]:
        with django_assert_max_num_queries(budget) as captured:
            response = client.get(url, params)
        assert response.status_code == 200, response.content[:500]
        return response, captured

    return get


# --- Conversation page ---


def _grow_conversation(conversation: Conversation, *, answers: int) -> None:
    """Bring the conversation to ``answers`` question/answer pairs, each answer citing its
    own document twice and keeping one uncited passage, half of them with feedback; and the
    user to ``answers`` more conversations in the sidebar."""
    user = conversation.user
    base = conversation.knowledge_bases.get()
    have = conversation.messages.filter(role=Message.Role.ASSISTANT).count()
    for i in range(have, answers):
        document = Document.objects.create(
            knowledge_base=base, title=f"policy-{i}.pdf", mime_type="application/pdf"
        )
        cited = [
            {
                "number": n,
                "start": 0,
                "end": 9,
                "chunk_id": 1000 * i + n,
                "document_id": document.pk,
                "title": document.title,
                "page": n,
                "url": "",
                "text": f"Passage {n} of policy {i}: laptops are replaced every 36 months.",
            }
            for n in (1, 2)
        ]
        uncited = {**cited[0], "chunk_id": 1000 * i + 3, "number": 3}
        Message.objects.create(conversation=conversation, role="user", content=f"Question {i}?")
        answer = Message.objects.create(
            conversation=conversation,
            role="assistant",
            content="Laptops are replaced every 36 months [1][2].",
            citations=cited,
            retrieved=[*cited, uncited],
            model_name="local-extractive",
            usage={"total_tokens": 120},
            metadata={"search_query": f"question {i}", "ttft_seconds": 0.2},
        )
        if i % 2 == 0:
            Feedback.objects.create(message=answer, user=user, rating=1, comment="good")
        Conversation.objects.create(user=user, title=f"Earlier conversation {i}")


def test_the_conversation_page_runs_the_same_queries_for_2_and_8_answers(
    client, measure, alice, knowledge_base
) -> None:
    conversation = Conversation.objects.create(user=alice, title="Laptops")
    conversation.knowledge_bases.add(knowledge_base)
    client.force_login(alice)
    url = reverse("chat:conversation", args=[conversation.pk])
    # session, user, then: the conversation (owned by the user), its messages, the documents
    # they cite that the user may still read (one query for the withheld check), the user's
    # feedback on them, the sidebar's conversations, the question form's knowledge bases.
    budget = SESSION_AND_USER + 6

    _grow_conversation(conversation, answers=SMALL)
    response, small = measure(url, budget)
    assert len(response.context["chat_messages"]) == 2 * SMALL
    _grow_conversation(conversation, answers=LARGE)
    response, large = measure(url, budget)
    assert len(response.context["chat_messages"]) == 2 * LARGE
    html = response.content.decode()
    assert html.count('class="msg answer"') == LARGE and "policy-7.pdf" in html
    assert "withheld" not in html and 'aria-pressed="true"' in html
    assert_same_count(small, large)


# --- Search page ---


def _grow_search_world(owner: User, *, passages: int) -> None:
    """``passages`` knowledge bases of the owner, each with one indexed document of one
    passage about laptops (same vector: the vector half returns them all, the text half
    matches them all)."""
    vector = [1.0] * VECTOR_DIMENSIONS
    have = KnowledgeBase.objects.filter(owner=owner).count()
    for i in range(have, passages):
        base = KnowledgeBase.objects.create(name=f"Team {i}", owner=owner)
        text = f"Laptop replacement policy {i}: laptops are replaced every 36 months."
        document = Document.objects.create(
            knowledge_base=base,
            title=f"handbook-{i}.pdf",
            mime_type="application/pdf",
            status=Document.Status.READY,
            chunk_count=1,
        )
        chunk = Chunk.objects.create(
            document=document,
            knowledge_base=base,
            ordinal=0,
            text=text,
            heading="Laptops",
            char_start=0,
            char_end=len(text),
            page=2,
            token_count=16,
            embedding=vector,
        )
        chunk.lexemes(title=document.title).save()


@pytest.mark.parametrize(
    ("partial", "budget"),
    [
        # session, user, then: the readable knowledge-base ids, those of them in the query's
        # embedding space, SAVEPOINT, the readable and total chunk counts (exact or HNSW
        # plan), set_config(hnsw.ef_search), the hybrid SQL, RELEASE SAVEPOINT, the chunks of
        # the candidates with their document and knowledge base (one join), the knowledge
        # bases of the filter. The savepoint pair is the retrieval's atomic block inside the
        # test's transaction; outside a test it is BEGIN/COMMIT, which Django does not log.
        pytest.param(False, SESSION_AND_USER + 9, id="page"),
        # The fragment has no filter, so the knowledge bases are never fetched.
        pytest.param(True, SESSION_AND_USER + 8, id="fragment"),
    ],
)
def test_the_search_page_runs_the_same_queries_for_2_and_8_passages(
    client, measure, alice, partial, budget
) -> None:
    client.force_login(alice)
    url = reverse("search:search")
    params = {"q": "laptop replacement", "all": "1", **({"partial": "1"} if partial else {})}

    _grow_search_world(alice, passages=SMALL)
    response, small = measure(url, budget, **params)
    assert len(response.context["hits"]) == SMALL
    _grow_search_world(alice, passages=LARGE)
    response, large = measure(url, budget, **params)
    assert len(response.context["hits"]) == LARGE
    html = response.content.decode()
    assert html.count('class="card result"') == LARGE and "<mark>" in html
    assert ("<html" in html) is not partial
    assert_same_count(small, large)


# --- Knowledge base manage page and its status endpoint ---


def _grow_knowledge_base(knowledge_base: KnowledgeBase, *, documents: int) -> None:
    """Bring the base to ``documents`` documents in every state (some with a stored file,
    some failed with a reason, some part-way through embedding), and as many groups, half
    of them sharing the base."""
    states = [
        {"status": Document.Status.READY, "chunk_count": 12, "file": "documents/a.pdf"},
        {"status": Document.Status.FAILED, "error": "No text layer."},
        {
            "status": Document.Status.PROCESSING,
            "stage": Document.Stage.EMBEDDING,
            "progress_done": 3,
            "progress_total": 9,
        },
        {"status": Document.Status.QUEUED, "source_kind": "url", "source_url": "https://x.test/"},
    ]
    have = knowledge_base.documents.count()
    for i in range(have, documents):
        Document.objects.create(
            knowledge_base=knowledge_base, title=f"doc-{i}.txt", **states[i % len(states)]
        )
        group = Group.objects.create(name=f"team-{i}")
        if i % 2 == 0:
            knowledge_base.groups.add(group)


def _grow_sources(knowledge_base: KnowledgeBase, *, sources: int) -> None:
    """``sources`` site sources, each with a page, and as many single pages (their
    documents live in another base, so that the base's document list stays as it was)."""
    from apps.sources.models import SitePage, SiteSource

    side, _ = KnowledgeBase.objects.get_or_create(name="side", owner=knowledge_base.owner)
    have = knowledge_base.site_sources.filter(kind=SiteSource.Kind.SITE).count()
    for i in range(have, sources):
        for kind in (SiteSource.Kind.SITE, SiteSource.Kind.PAGE):
            url = f"https://site-{i}.test/{kind}/"
            source = SiteSource.objects.create(
                knowledge_base=knowledge_base,
                kind=kind,
                start_url=url,
                scope=url,
                max_pages=10,
                max_depth=1,
                every_hours=24,
            )
            document = Document.objects.create(
                knowledge_base=side, title=url, source_kind="url", source_url=url
            )
            SitePage.objects.create(source=source, document=document, url=url)


def test_the_manage_page_runs_the_same_queries_for_2_and_8_documents(
    client, measure, alice, knowledge_base
) -> None:
    client.force_login(alice)
    url = reverse("knowledge:manage", args=[knowledge_base.pk])
    # session, user, then: the knowledge base with its owner, the groups reading it and the
    # groups editing it (the sharing form's initial values), all groups once for each of its
    # two group fields (their choices), its documents; the web sources panel: its site
    # sources with their page counts, the number of single pages re-synced.
    budget = SESSION_AND_USER + 8

    _grow_knowledge_base(knowledge_base, documents=SMALL)
    _grow_sources(knowledge_base, sources=SMALL)
    response, small = measure(url, budget)
    _grow_knowledge_base(knowledge_base, documents=LARGE)
    _grow_sources(knowledge_base, sources=LARGE)
    response, large = measure(url, budget)
    html = response.content.decode()
    assert html.count("<tr data-document=") == LARGE and "team-7" in html
    assert html.count("<tr data-source=") == LARGE
    assert_same_count(small, large)


def test_the_status_endpoint_runs_the_same_queries_for_2_and_8_documents(
    client, measure, alice, knowledge_base
) -> None:
    client.force_login(alice)
    url = reverse("knowledge:status", args=[knowledge_base.pk])
    # session, user, then: the managed knowledge base, its documents.
    budget = SESSION_AND_USER + 2

    _grow_knowledge_base(knowledge_base, documents=SMALL)
    response, small = measure(url, budget)
    assert len(response.json()["documents"]) == SMALL
    _grow_knowledge_base(knowledge_base, documents=LARGE)
    response, large = measure(url, budget)
    assert len(response.json()["documents"]) == LARGE
    assert_same_count(small, large)


# --- Insight pages ---


def _grow_answers(knowledge_base: KnowledgeBase, *, answers: int) -> None:
    """``answers`` answers over the base's documents: each retrieved one passage of its own
    document (with an embedding), every other one cites it, every third was rated not
    helpful with a comment."""
    user = knowledge_base.owner
    have = Message.objects.filter(knowledge_base_ids__contains=[knowledge_base.pk]).count()
    for i in range(have, answers):
        document = Document.objects.create(
            knowledge_base=knowledge_base, title=f"answered-{i}.md", status=Document.Status.READY
        )
        chunk = Chunk.objects.create(
            document=document, knowledge_base=knowledge_base, ordinal=0, text=f"passage {i}",
            char_start=0, char_end=9, token_count=2,
            embedding=[float((i + j) % 5) + 0.1 for j in range(VECTOR_DIMENSIONS)],
        )  # fmt: skip
        conversation = Conversation.objects.create(user=user, title=f"question {i}")
        Message.objects.create(conversation=conversation, role="user", content=f"question {i}")
        passage = {"chunk_id": chunk.pk, "document_id": document.pk, "title": document.title,
                   "text": chunk.text, "score": 0.9, "page": None, "section": ""}  # fmt: skip
        cited = [{**passage, "number": 1, "start": 0, "end": 3, "kind": "marker", "url": ""}]
        answer = Message.objects.create(
            conversation=conversation, role="assistant", content=f"answer {i}",
            citations=cited if i % 2 == 0 else [], retrieved=[passage],
            metadata={"reranked": True, "ttft_seconds": 1.0 + i},
            knowledge_base_ids=[knowledge_base.pk],
        )  # fmt: skip
        if i % 3 == 0:
            Feedback.objects.create(message=answer, user=user, rating=-1, comment=f"bad {i}")


@pytest.mark.parametrize("page", ["base", "all"])
def test_the_insight_pages_run_the_same_queries_for_2_and_8_of_everything(
    client, measure, alice, knowledge_base, page: str
) -> None:
    client.force_login(alice)
    url = reverse("insight:base", args=[knowledge_base.pk]) if page == "base" else "/kb/insight/"
    # session, user, then: the managed bases; the unanswered answers with their questions,
    # the readable documents among their passages, the passages' embeddings; the citations
    # of the window's answers; the totals with time to first words, the counts per day; the
    # negative feedback with its questions; the most cited documents; never cited, failed
    # and stale documents (a list each; a count only past the listed 20); the web sources.
    budget = SESSION_AND_USER + 13

    for grow in (SMALL, LARGE):
        _grow_knowledge_base(knowledge_base, documents=grow)
        _grow_sources(knowledge_base, sources=grow)
        _grow_answers(knowledge_base, answers=grow)
        response, captured = measure(url, budget)
        if grow == SMALL:
            small = captured
    html = response.content.decode()
    assert f'data-figure="answers">{LARGE}<' in html and "bad 6" in html
    assert html.count("data-gap-group") >= 1 and "question 7" in html
    assert_same_count(small, captured)


# --- Document viewer ---


def _grow_document(document: Document, *, passages: int) -> None:
    """Give the document ``passages`` passages over its stored text, one section each."""
    have = document.chunks.count()
    sections = [
        f"## Part {i}\n\nLaptops of part {i} are replaced every 36 months." for i in range(passages)
    ]
    document.content = "\n\n".join(sections)
    document.save(update_fields=["content"])
    offset = 0
    spans = []
    for section in sections:
        spans.append((offset, offset + len(section)))
        offset += len(section) + 2
    for i in range(have, passages):
        start, end = spans[i]
        Chunk.objects.create(
            document=document,
            knowledge_base_id=document.knowledge_base_id,
            ordinal=i,
            text=document.content[start:end],
            heading=f"Part {i}",
            section=f"Part {i}",
            char_start=start,
            char_end=end,
            token_count=12,
            embedding=[0.0] * VECTOR_DIMENSIONS,
        )


def test_the_document_viewer_runs_the_same_queries_for_2_and_8_passages(
    client, measure, alice, knowledge_base
) -> None:
    client.force_login(alice)
    document = Document.objects.create(
        knowledge_base=knowledge_base, title="laptops.md", mime_type="text/markdown"
    )
    url = reverse("knowledge:document", args=[document.pk])
    # session, user, then: the readable document with its base, its passages, its parts.
    budget = SESSION_AND_USER + 3

    _grow_document(document, passages=SMALL)
    _, small = measure(url, budget)
    _grow_document(document, passages=LARGE)
    response, large = measure(url, budget, passage=str(document.chunks.last().pk))
    html = response.content.decode()
    assert html.count('class="passage-start"') == LARGE and "<h2>Part 7</h2>" in html
    assert_same_count(small, large)
