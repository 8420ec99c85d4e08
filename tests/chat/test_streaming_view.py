"""The answer streamed as Server-Sent Events, through the real local provider."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from apps.chat.answering import ask
from apps.chat.models import Conversation, Message
from tests.servers import Reply, fake_groq

pytestmark = pytest.mark.django_db


def events(response) -> list[tuple[str, dict]]:
    raw = b"".join(response.streaming_content).decode()
    parsed = []
    for block in raw.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        parsed.append((lines["event"], json.loads(lines["data"])))
    return parsed


@pytest.fixture
def demo_client(client, demo_world):
    client.force_login(demo_world.user)
    return client


def _ask(client, question: str, **extra):
    return client.post(reverse("chat:ask_stream"), {"question": question, **extra})


def test_answer_streams_text_then_citations_then_the_stored_answer(demo_client, demo_world) -> None:
    response = _ask(demo_client, "How often are laptops replaced?")
    assert response["Content-Type"] == "text/event-stream"
    stream = events(response)
    kinds = [kind for kind, _ in stream]
    assert kinds[0] == "meta" and kinds[-1] == "done" and "error" not in kinds
    text = "".join(data["text"] for kind, data in stream if kind == "delta")
    assert "36 months" in text
    citations = [data for kind, data in stream if kind == "citation"]
    assert (
        citations
        and citations[0]["number"] == 1
        and citations[0]["title"] == "employee-handbook.pdf"
    )
    assert kinds.index("citation") < kinds.index("done")
    done = stream[-1][1]
    assert 'class="cite-marker"' in done["html"] and "36 months" in done["html"]
    message = Message.objects.get(pk=done["message_id"])
    assert message.content == text and message.citations
    assert 0 < message.metadata["ttft_seconds"] <= message.metadata["total_seconds"]
    assert done["conversation_url"] == f"/c/{message.conversation_id}/"


def test_a_follow_up_joins_its_conversation_and_others_are_refused(
    demo_client, demo_world, bob
) -> None:
    first = events(_ask(demo_client, "How often are laptops replaced?"))[-1][1]
    conversation_id = first["conversation_url"].split("/")[2]
    events(_ask(demo_client, "What is the hotel cap in Europe?", conversation=conversation_id))
    assert Conversation.objects.get().messages.count() == 4
    demo_client.force_login(bob)
    assert _ask(demo_client, "Hotel cap?", conversation=conversation_id).status_code == 404


def test_a_broken_stream_shows_what_arrived_and_stores_nothing(
    demo_client, demo_world, settings
) -> None:
    cut = [
        {
            "id": "c",
            "choices": [{"index": 0, "delta": {"content": "The cap is "}, "finish_reason": None}],
        },
    ]
    with fake_groq() as fake:
        fake.reply("chat/completions", Reply(stream=cut, cut=True))
        settings.CHAT_BASE_URL = fake.base_url
        settings.CITATION_MODE = "documents"
        stream = events(_ask(demo_client, "What is the hotel cap in Europe?"))
    kind, data = stream[-1]
    assert kind == "error" and data["partial"] == "The cap is "
    assert "stopped answering part-way" in data["message"]
    assert not Message.objects.exists() and not Conversation.objects.exists()


TOO_LARGE = Reply(
    413,
    {
        "error": {
            "message": "Request too large",
            "type": "invalid_request_error",
            "code": "rate_limit_exceeded",
        }
    },
)


def test_a_streamed_request_too_large_is_retried_with_half_the_passages(
    demo_client, demo_world, settings
) -> None:
    answer = [
        {
            "id": "c",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "content": "The cap is 180 euros.",
                        "annotations": [
                            {
                                "type": "document_citation",
                                "document_citation": {
                                    "document_id": "1",
                                    "start_index": 0,
                                    "end_index": 21,
                                },
                            }
                        ],
                    },
                    "finish_reason": "stop",
                }
            ],
        },
    ]
    with fake_groq() as fake:
        fake.reply("chat/completions", TOO_LARGE, Reply(stream=answer))
        settings.CHAT_BASE_URL = fake.base_url
        settings.CITATION_MODE = "documents"
        stream = events(_ask(demo_client, "What is the nightly hotel cap in Europe?"))
    kinds = [kind for kind, _ in stream]
    assert kinds[-1] == "done" and "error" not in kinds
    first, second = (len(request["json"]["documents"]) for request in fake.requests)
    assert first > 1 and second == first // 2
    message = Message.objects.get(pk=stream[-1][1]["message_id"])
    assert message.content == "The cap is 180 euros." and message.citations
    assert message.metadata["passages_sent"] == second


def test_the_streamed_and_the_plain_answer_store_the_same_message(demo_client, demo_world) -> None:
    question = "How often are laptops replaced?"
    plain = ask(
        user=demo_world.user, question=question, knowledge_base_ids=[demo_world.knowledge_base.pk]
    ).message
    done = events(_ask(demo_client, question, knowledge_base=demo_world.knowledge_base.pk))[-1]
    streamed = Message.objects.get(pk=done[1]["message_id"])
    assert streamed.content == plain.content and streamed.citations == plain.citations
    assert streamed.retrieved == plain.retrieved and streamed.usage == plain.usage
    assert set(streamed.metadata) == set(plain.metadata)
    assert {"ttft_seconds", "generate_seconds", "total_seconds"} <= set(plain.metadata)
    assert 0 < plain.metadata["ttft_seconds"] <= plain.metadata["total_seconds"]
