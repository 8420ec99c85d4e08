"""The client against a fake Groq: a loopback server replaying Groq-shaped responses."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator

import pytest

from apps.modelapi.client import Endpoint, chat_completion, create_embeddings, rerank
from apps.modelapi.errors import ModelApiError
from apps.modelapi.schemas import ChatDocument, TextSource
from tests.servers import FakeGroq, Reply, fake_groq

GROQ_CHAT = {
    "id": "chatcmpl-123",
    "object": "chat.completion",
    "created": 1730000000,
    "model": "llama-3.3-70b-versatile",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "The cap is 180 euros.",
                "reasoning": "Looked at document 1.",
                "annotations": [
                    {
                        "type": "document_citation",
                        "document_citation": {
                            "document_id": "1",
                            "start_index": 0,
                            "end_index": 21,
                        },
                    },
                    {
                        "type": "function_citation",
                        "function_citation": {
                            "tool_call_id": "t1",
                            "start_index": 0,
                            "end_index": 3,
                        },
                    },
                ],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 50, "completion_tokens": 7, "total_tokens": 57, "queue_time": 0.01},
    "system_fingerprint": "fp_1",
    "x_groq": {"id": "req_01abc", "seed": 1},
}


@pytest.fixture
def groq(settings) -> Iterator[tuple[FakeGroq, Endpoint]]:
    settings.MODEL_API_MAX_RETRIES = 2
    with fake_groq() as fake:
        yield fake, Endpoint(fake.base_url, "gsk_test_key", "llama-3.3-70b-versatile")


def test_chat_completion_parses_annotations_usage_and_x_groq(groq) -> None:
    fake, endpoint = groq
    fake.reply("chat/completions", Reply(200, GROQ_CHAT))
    completion = chat_completion(
        [{"role": "user", "content": "Hotel cap?"}],
        documents=[ChatDocument(id="1", source=TextSource(text="Cap: 180 euros."))],
        endpoint=endpoint,
    )
    message = completion.choices[0].message
    assert message.content == "The cap is 180 euros."
    assert message.reasoning == "Looked at document 1."
    assert [a.type for a in message.annotations or []] == ["document_citation", "function_citation"]
    assert message.annotations[0].document_citation.end_index == 21  # type: ignore[index,union-attr]
    assert completion.usage is not None and completion.usage.total_tokens == 57
    assert completion.x_groq is not None and completion.x_groq.id == "req_01abc"


def test_chat_request_sends_documents_in_groq_shape_with_the_key(groq) -> None:
    fake, endpoint = groq
    fake.reply("chat/completions", Reply(200, GROQ_CHAT))
    chat_completion(
        [{"role": "user", "content": "q"}],
        documents=[ChatDocument(id="1", source=TextSource(text="passage"))],
        endpoint=endpoint,
    )
    sent = fake.requests[0]
    assert sent["headers"]["Authorization"] == "Bearer gsk_test_key"
    assert sent["json"]["documents"] == [{"id": "1", "source": {"type": "text", "text": "passage"}}]
    assert sent["json"]["citation_options"] == "enabled"


def test_rate_limited_request_is_retried_after_the_advertised_delay(groq) -> None:
    fake, endpoint = groq
    limited = Reply(
        429,
        {
            "error": {
                "message": "Rate limit reached",
                "type": "tokens",
                "code": "rate_limit_exceeded",
            }
        },
        {"retry-after-ms": "50"},
    )
    fake.reply("chat/completions", limited, Reply(200, GROQ_CHAT))
    completion = chat_completion([{"role": "user", "content": "q"}], endpoint=endpoint)
    assert completion.choices[0].message.content == "The cap is 180 euros."
    assert len(fake.requests) == 2


def test_client_errors_are_not_retried_and_carry_groqs_message(groq) -> None:
    fake, endpoint = groq
    fake.reply(
        "chat/completions",
        Reply(
            401,
            {
                "error": {
                    "message": "Invalid API Key",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            },
            {"x-request-id": "req_401"},
        ),
    )
    with pytest.raises(ModelApiError) as info:
        chat_completion([{"role": "user", "content": "q"}], endpoint=endpoint)
    error = info.value
    assert (error.status, error.code, error.request_id) == (401, "invalid_api_key", "req_401")
    assert not error.retryable and "API key" in error.user_message
    assert len(fake.requests) == 1


def test_server_errors_are_retried_then_reported(groq) -> None:
    fake, endpoint = groq
    fake.reply(
        "embeddings",
        Reply(
            503,
            {"error": {"message": "over capacity", "type": "server_error"}},
            {"retry-after": "0"},
        ),
    )
    with pytest.raises(ModelApiError) as info:
        create_embeddings(["a"], endpoint=endpoint)
    assert info.value.status == 503 and info.value.retryable
    assert len(fake.requests) == 3


def test_base64_embeddings_are_decoded_in_input_order(groq) -> None:
    fake, endpoint = groq
    packed = base64.b64encode(struct.pack("<3f", 0.5, -1.0, 2.0)).decode()
    fake.reply(
        "embeddings",
        Reply(
            200,
            {
                "object": "list",
                "data": [
                    {"object": "embedding", "index": 1, "embedding": [1.0, 1.0, 1.0]},
                    {"object": "embedding", "index": 0, "embedding": packed},
                ],
                "model": "m",
            },
        ),
    )
    assert create_embeddings(["first", "second"], endpoint=endpoint) == [
        [0.5, -1.0, 2.0],
        [1.0, 1.0, 1.0],
    ]


def test_index_less_rerank_results_are_matched_back_by_text_including_duplicates(groq) -> None:
    fake, endpoint = groq
    fake.reply(
        "reranking",
        Reply(
            200,
            {
                "results": [
                    {"doc": "b", "score": 0.9},
                    {"doc": "a", "score": 0.5},
                    {"doc": "a", "score": 0.4},
                ]
            },
        ),
    )
    ranked = rerank("q", ["a", "b", "a"], endpoint=endpoint)
    assert [(r.index, r.score) for r in ranked] == [(1, 0.9), (0, 0.5), (2, 0.4)]
    assert fake.requests[0]["json"] == {
        "model": endpoint.model,
        "query": "q",
        "docs": ["a", "b", "a"],
    }


def test_unreachable_server_raises_a_retryable_error(settings) -> None:
    settings.MODEL_API_MAX_RETRIES = 0
    endpoint = Endpoint("http://127.0.0.1:9/openai/v1", "", "m")
    with pytest.raises(ModelApiError) as info:
        create_embeddings(["a"], endpoint=endpoint)
    assert info.value.status is None and info.value.retryable
    assert "could not be reached" in info.value.user_message


@pytest.mark.parametrize("opening", ["<think>", ""])
def test_think_text_is_moved_to_reasoning_and_citation_spans_follow(groq, opening) -> None:
    fake, endpoint = groq
    thinking = f"{opening}Let me look at document 1.</think>\n\n"
    answer = "The cap is 180 euros."
    body = json.loads(json.dumps(GROQ_CHAT))
    body["choices"][0]["message"].update(
        content=thinking + answer,
        reasoning=None,
        annotations=[
            {
                "type": "document_citation",
                "document_citation": {
                    "document_id": "1",
                    "start_index": len(thinking),
                    "end_index": len(thinking) + len(answer),
                },
            }
        ],
    )
    fake.reply("chat/completions", Reply(200, body))
    message = (
        chat_completion([{"role": "user", "content": "q"}], endpoint=endpoint).choices[0].message
    )
    assert message.content == answer and message.reasoning == "Let me look at document 1."
    cited = message.annotations[0].document_citation
    assert message.content[cited.start_index : cited.end_index] == answer
