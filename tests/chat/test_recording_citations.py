"""A citation of a recording says when its passage is said, everywhere a page number goes:
the stored answer, the streamed event, the conversation and search pages, the Markdown
export and the API. A real espeak recording, transcribed by the real local Whisper, answered
through the real pipeline and local provider."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from apps.accounts.tokens import create_token
from apps.chat.answering import ask
from apps.chat.models import Conversation, Message
from apps.knowledge.indexing import index_document
from apps.knowledge.mediakind import clock
from apps.knowledge.models import Document, KnowledgeBase
from apps.knowledge.uploads import add_file_document
from tests.speech import Speech, encoded, speech

pytestmark = pytest.mark.django_db

SENTENCES = [
    "Welcome to the weekly planning meeting.",
    "The laptop budget for new staff is twelve hundred euros.",
    "The office in Lisbon opens in March.",
]
LAPTOP = 1  # the sentence the question is about
QUESTION = "What is the laptop budget for new staff?"
TITLE = "weekly-sync.m4a"


@pytest.fixture(scope="module")
def meeting() -> Speech:
    return speech(SENTENCES, gap_seconds=2.0)


@pytest.fixture
def recording(knowledge_base: KnowledgeBase, meeting: Speech, settings) -> Document:
    """The meeting as an M4A in Alice's base, one sentence a passage."""
    settings.CHUNK_TARGET_TOKENS = 12
    settings.CHUNK_OVERLAP_TOKENS = 0
    document = add_file_document(
        knowledge_base=knowledge_base, filename=TITLE, data=encoded(meeting.wav, "m4a")
    )
    assert index_document(document_id=document.pk).outcome == "indexed"
    document.refresh_from_db()
    assert document.is_recording and document.chunks.count() == len(SENTENCES)
    return document


@pytest.fixture
def alice_client(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def _laptop_citation(citations: list[dict[str, Any]]) -> dict[str, Any]:
    cited = [c for c in citations if "laptop" in str(c.get("text", "")).lower()]
    assert cited, citations
    return cited[0]


def _asked(alice: User, knowledge_base: KnowledgeBase) -> Message:
    return ask(user=alice, question=QUESTION, knowledge_base_ids=[knowledge_base.pk]).message


def _bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(user, 'recording test')[1]}"}


def test_a_citation_of_a_recording_carries_when_its_passage_is_said(
    alice, knowledge_base, recording, meeting
) -> None:
    message = _asked(alice, knowledge_base)

    cited = _laptop_citation(message.citations)
    assert cited["title"] == TITLE and cited["page"] is None
    assert abs(cited["start_seconds"] - meeting.starts[LAPTOP]) < 1.0
    assert cited["end_seconds"] > cited["start_seconds"]
    retrieved = _laptop_citation(message.retrieved)
    assert (retrieved["start_seconds"], retrieved["end_seconds"]) == (
        cited["start_seconds"],
        cited["end_seconds"],
    )


def test_the_conversation_page_says_where_in_the_recording_a_source_is(
    alice_client, knowledge_base, recording, meeting
) -> None:
    response = alice_client.post(
        reverse("chat:ask"),
        {"question": QUESTION, "knowledge_base": knowledge_base.pk},
        follow=True,
    )
    html = response.content.decode()
    assert response.redirect_chain[-1][0].startswith("/c/")
    shown = re.search(
        rf'{re.escape(TITLE)}</a> <span class="source-where">at (\d+):(\d\d)</span>', html
    )
    assert shown, html
    minutes, seconds = int(shown[1]), int(shown[2])
    assert abs(minutes * 60 + seconds - meeting.starts[LAPTOP]) <= 1.0


def test_the_streamed_citation_event_carries_the_seconds(
    alice_client, knowledge_base, recording, meeting
) -> None:
    response = alice_client.post(
        reverse("chat:ask_stream"), {"question": QUESTION, "knowledge_base": knowledge_base.pk}
    )
    raw = b"".join(response.streaming_content).decode()
    events = [
        json.loads(block.split("data: ", 1)[1])
        for block in raw.strip().split("\n\n")
        if block.startswith("event: citation")
    ]
    assert events, raw
    stored = Message.objects.filter(role=Message.Role.ASSISTANT).get()
    laptop = _laptop_citation(stored.citations)
    streamed = next(e for e in events if e["number"] == laptop["number"])
    assert streamed["title"] == TITLE
    assert abs(streamed["start_seconds"] - meeting.starts[LAPTOP]) < 1.0
    assert streamed["end_seconds"] > streamed["start_seconds"]


def test_the_markdown_export_footnote_says_where_in_the_recording(
    alice, alice_client, knowledge_base, recording, meeting
) -> None:
    message = _asked(alice, knowledge_base)
    cited = _laptop_citation(message.citations)

    text = alice_client.get(f"/c/{message.conversation_id}/export.md").content.decode()

    footnote = re.search(
        rf"^\[\^\d+\]: \*\*{re.escape(TITLE)}\*\* · at (\d+):(\d\d) · ", text, re.M
    )
    assert footnote, text
    assert f"{footnote[1]}:{footnote[2]}" == clock(cited["start_seconds"])
    assert abs(int(footnote[1]) * 60 + int(footnote[2]) - meeting.starts[LAPTOP]) <= 1.0


def test_the_search_page_shows_when_a_recording_passage_is_said(
    alice_client, recording, meeting
) -> None:
    html = alice_client.get(reverse("search:search"), {"q": "laptop budget"}).content.decode()
    said = re.search(r"Alice&#x27;s base · at (\d+):(\d\d)</p>", html)
    assert said, html
    assert abs(int(said[1]) * 60 + int(said[2]) - meeting.starts[LAPTOP]) <= 1.0


def test_the_api_search_returns_when_a_recording_passage_is_said(alice, recording, meeting) -> None:
    response = Client().get("/api/v1/search", {"q": "laptop budget"}, headers=_bearer(alice))
    assert response.status_code == 200, response.content
    hit = next(h for h in response.json()["results"] if "laptop" in h["text"].lower())
    assert hit["document"]["title"] == TITLE
    assert abs(hit["start_seconds"] - meeting.starts[LAPTOP]) < 1.0
    assert hit["end_seconds"] > hit["start_seconds"]


def test_the_api_conversation_gives_its_citations_and_sources_their_seconds(
    alice, knowledge_base, recording, meeting
) -> None:
    message = _asked(alice, knowledge_base)
    response = Client().get(
        f"/api/v1/conversations/{message.conversation_id}", headers=_bearer(alice)
    )
    assert response.status_code == 200, response.content
    answer = response.json()["messages"][-1]
    cited = _laptop_citation(answer["citations"])
    source = next(s for s in answer["sources"] if s["number"] == cited["number"])
    for item in (cited, source):
        assert abs(item["start_seconds"] - meeting.starts[LAPTOP]) < 1.0
        assert item["end_seconds"] > item["start_seconds"]


def test_the_openai_compatible_file_citation_carries_the_seconds(
    alice, knowledge_base, recording, meeting
) -> None:
    response = Client().post(
        "/api/v1/openai/chat/completions",
        {"model": f"kb-{knowledge_base.pk}", "messages": [{"role": "user", "content": QUESTION}]},
        content_type="application/json",
        headers=_bearer(alice),
    )
    assert response.status_code == 200, response.content
    annotations = response.json()["choices"][0]["message"]["annotations"]
    files = [a["file_citation"] for a in annotations if a["type"] == "file_citation"]
    assert files and all(f["filename"] == TITLE for f in files)
    said = [f["start_seconds"] for f in files]
    assert any(abs(s - meeting.starts[LAPTOP]) < 1.0 for s in said), said
    assert all(f["end_seconds"] > f["start_seconds"] for f in files)


def test_a_citation_stored_before_times_were_kept_says_no_time(
    alice, alice_client, knowledge_base
) -> None:
    document = Document.objects.create(knowledge_base=knowledge_base, title="policy.pdf")
    conversation = Conversation.objects.create(user=alice, title="Old answer")
    conversation.knowledge_bases.add(knowledge_base)
    Message.objects.create(conversation=conversation, role="user", content="How often?")
    old = {
        "number": 1, "start": 0, "end": 14, "chunk_id": 1, "document_id": document.pk,
        "title": document.title, "page": 2, "url": "", "text": "Every 36 months.",
        "kind": "marker",
    }  # fmt: skip
    Message.objects.create(
        conversation=conversation, role="assistant", content="Every 36 months.", citations=[old]
    )

    api = Client().get(f"/api/v1/conversations/{conversation.pk}", headers=_bearer(alice))
    export = alice_client.get(f"/c/{conversation.pk}/export.md").content.decode()

    answer = api.json()["messages"][-1]
    assert answer["citations"][0]["start_seconds"] is None
    assert answer["sources"][0]["end_seconds"] is None
    assert "**policy.pdf** · page 2 · <" in export and " at " not in export
