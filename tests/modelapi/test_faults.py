"""Fault scenarios against a Groq stand-in: what the client does, what the user sees,
and that nothing is written half. (The table in the issue note is read off these.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from apps.chat.answering import ask
from apps.chat.models import Message
from apps.knowledge.indexing import index_document
from apps.knowledge.models import Chunk, Document
from apps.knowledge.uploads import add_file_document
from apps.modelapi.errors import ModelApiError
from tests.servers import FakeGroq, Reply, fake_groq

pytestmark = pytest.mark.django_db

QUESTION = "What is the nightly hotel cap in Europe?"


def completion(content: str, annotations: list | None = None) -> dict:
    message: dict = {"role": "assistant", "content": content}
    if annotations is not None:
        message["annotations"] = annotations
    return {
        "id": "chatcmpl-x",
        "object": "chat.completion",
        "model": "llama-3.3-70b-versatile",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        "x_groq": {"id": "req_fake"},
    }


def cite(doc_id: str, start: int, end: int) -> dict:
    return {
        "type": "document_citation",
        "document_citation": {"document_id": doc_id, "start_index": start, "end_index": end},
    }


@pytest.fixture
def groq_chat(settings, demo_world) -> Iterator[FakeGroq]:
    """Chat goes to the stand-in; embeddings and reranking stay on the local provider."""
    with fake_groq() as fake:
        settings.CHAT_BASE_URL = fake.base_url
        settings.CHAT_MODEL = "llama-3.3-70b-versatile"
        settings.CITATION_MODE = "documents"
        settings.MODEL_API_MAX_RETRIES = 2
        yield fake


def _ask(world) -> Message:
    return ask(
        user=world.user, question=QUESTION, knowledge_base_ids=[world.knowledge_base.pk]
    ).message


def test_groq_documents_mode_sends_documents_and_maps_citations(groq_chat, demo_world) -> None:
    groq_chat.reply(
        "chat/completions", Reply(200, completion("The cap is 180 euros.", [cite("1", 0, 21)]))
    )
    message = _ask(demo_world)
    sent = groq_chat.requests[0]["json"]
    assert sent["citation_options"] == "enabled" and sent["documents"][0]["id"] == "1"
    assert set(sent["documents"][0]) == {"id", "source"}
    assert [c["number"] for c in message.citations] == [1]
    assert message.citations[0]["text"] == message.retrieved[0]["text"]


def test_429_with_retry_after_is_waited_out_then_answered(
    groq_chat, demo_world, monkeypatch
) -> None:
    from apps.modelapi import transport

    waits: list[float] = []
    monkeypatch.setattr(transport, "sleep", waits.append)
    limited = Reply(
        429,
        {
            "error": {
                "message": "Rate limit reached",
                "type": "tokens",
                "code": "rate_limit_exceeded",
            }
        },
        {"retry-after": "1"},
    )
    groq_chat.reply(
        "chat/completions", limited, Reply(200, completion("The cap is 180 euros.", []))
    )
    assert _ask(demo_world).content == "The cap is 180 euros."
    assert waits == [1.0]


def test_413_request_too_large_shrinks_the_passages_instead_of_waiting(
    groq_chat, demo_world
) -> None:
    too_big = Reply(
        413,
        {
            "error": {
                "message": "Request too large for model",
                "type": "tokens",
                "code": "rate_limit_exceeded",
            }
        },
    )
    groq_chat.reply(
        "chat/completions", too_big, Reply(200, completion("The cap is 180 euros.", []))
    )
    message = _ask(demo_world)
    first, second = (len(r["json"]["documents"]) for r in groq_chat.requests)
    assert second == first // 2
    assert message.metadata["passages_sent"] == second


@pytest.mark.parametrize(
    ("reply", "attempts", "shown"),
    [
        (
            Reply(
                503,
                {"error": {"message": "Service Unavailable", "type": "internal_server_error"}},
                {"retry-after": "0"},
            ),
            3,
            "internal problem",
        ),
        (
            Reply(
                500,
                {"error": {"message": "Internal Server Error", "type": "internal_server_error"}},
                {"retry-after": "0"},
            ),
            3,
            "internal problem",
        ),
        (Reply(200, raw=b'{"choices": [tru'), 1, "invalid JSON"),
        (
            Reply(
                401,
                {
                    "error": {
                        "message": "Invalid API Key",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                    }
                },
            ),
            1,
            "API key",
        ),
    ],
)
def test_failing_chat_gives_a_clear_message_and_stores_nothing(
    groq_chat, demo_world, reply, attempts, shown
) -> None:
    groq_chat.reply("chat/completions", reply)
    with pytest.raises(ModelApiError) as info:
        _ask(demo_world)
    assert shown in info.value.user_message
    assert len(groq_chat.requests) == attempts
    assert not Message.objects.exists()


def test_a_hanging_server_times_out_with_a_clear_message(groq_chat, demo_world, settings) -> None:
    settings.MODEL_API_TIMEOUT = 0.3
    settings.MODEL_API_MAX_RETRIES = 0
    groq_chat.reply("chat/completions", Reply(200, completion("late"), delay=1.5))
    with pytest.raises(ModelApiError, match="timed out") as info:
        _ask(demo_world)
    assert "could not be reached" in info.value.user_message
    assert not Message.objects.exists()


def test_prompt_mode_numbers_passages_and_parses_markers(groq_chat, demo_world, settings) -> None:
    settings.CITATION_MODE = "auto"  # the stand-in is not Groq's host: auto picks prompt mode
    groq_chat.reply("chat/completions", Reply(200, completion("The cap is 180 euros [1].")))
    message = _ask(demo_world)
    sent = groq_chat.requests[0]["json"]
    assert "documents" not in sent and "[1] " in sent["messages"][0]["content"]
    assert message.content == "The cap is 180 euros."
    assert message.citations[0]["start"] == 0 and message.citations[0]["end"] == len(
        "The cap is 180 euros"
    )


@pytest.fixture
def groq_embeddings(settings, knowledge_base) -> Iterator[FakeGroq]:
    with fake_groq() as fake:
        settings.EMBEDDINGS_BASE_URL = fake.base_url
        settings.MODEL_API_MAX_RETRIES = 0
        yield fake


def _vectors(count: int, width: int = 384) -> dict:
    return {
        "object": "list",
        "data": [{"index": i, "embedding": [0.01] * width} for i in range(count)],
    }


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(200, _vectors(1, width=3)), "returned 3 dimensions; this database stores 384"),
        (Reply(200, _vectors(0)), "asked for 1 embeddings, got 0"),
    ],
)
def test_bad_embedding_responses_fail_the_document_without_writing_chunks(
    groq_embeddings, knowledge_base, reply, reason
) -> None:
    groq_embeddings.reply("embeddings", reply)
    document = add_file_document(
        knowledge_base=knowledge_base,
        filename="note.txt",
        data=b"The hotel cap is 180 euros per night.",
    )
    assert index_document(document_id=document.pk).outcome == "failed"
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED and reason in document.error
    assert not Chunk.objects.exists()


def test_413_on_embeddings_splits_the_batch(groq_embeddings, knowledge_base, settings) -> None:
    from apps.modelapi.client import create_embeddings

    too_big = Reply(413, {"error": {"message": "Request too large", "code": "rate_limit_exceeded"}})
    groq_embeddings.reply("embeddings", too_big, Reply(200, _vectors(2)), Reply(200, _vectors(2)))
    vectors = create_embeddings(["a", "b", "c", "d"])
    assert len(vectors) == 4
    assert [len(r["json"]["input"]) for r in groq_embeddings.requests] == [4, 2, 2]
