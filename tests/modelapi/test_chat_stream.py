"""Streamed chat completions: SSE parsing, <think> handling, and the stream's failure modes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from apps.modelapi.chat_stream import (
    StreamDelta,
    StreamedMessage,
    StreamEnd,
    ThinkSplitter,
    iter_sse_data,
    parse_chat_stream,
    split_think,
    stream_chat_completion,
)
from apps.modelapi.errors import ModelApiError
from apps.modelapi.transport import Endpoint
from tests.servers import FakeGroq, Reply, fake_groq


def chunk(content: str | None = None, *, finish: str | None = None, **extra) -> dict:
    delta = {} if content is None else {"content": content}
    if "annotations" in extra:
        delta["annotations"] = extra.pop("annotations")
    if "reasoning" in extra:
        delta["reasoning"] = extra.pop("reasoning")
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "llama-3.3-70b-versatile",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


GROQ_STREAM = [
    chunk("", x_groq={"id": "req_stream_1"}),
    chunk("The cap "),
    chunk(
        "is 180 euros.",
        annotations=[
            {
                "type": "document_citation",
                "document_citation": {"document_id": "1", "start_index": 0, "end_index": 21},
            }
        ],
    ),
    chunk(
        None,
        finish="stop",
        x_groq={
            "id": "req_stream_1",
            "usage": {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15},
        },
    ),
]


def sse_lines(events: list) -> list[str]:
    import json

    lines: list[str] = []
    for event in events:
        lines += [f"data: {event if isinstance(event, str) else json.dumps(event)}", ""]
    return lines


def collect(events: Iterator) -> StreamedMessage:
    message = StreamedMessage()
    for event in events:
        message.add(event)
    return message


def test_sse_events_join_multiline_data_and_skip_comments() -> None:
    lines = [": keep-alive", "data: a", "data: b", "", "event: x", "data: c", ""]
    assert list(iter_sse_data(lines)) == ["a\nb", "c"]


def test_groq_stream_yields_text_annotations_usage_and_request_id() -> None:
    message = collect(parse_chat_stream(sse_lines([*GROQ_STREAM, "[DONE]"])))
    assert message.content == "The cap is 180 euros."
    assert message.annotations[0].document_citation.document_id == "1"  # type: ignore[union-attr]
    assert message.end == StreamEnd(
        "stop", message.end.usage, "req_stream_1", "llama-3.3-70b-versatile"
    )  # type: ignore[union-attr]
    assert message.end.usage.total_tokens == 15  # type: ignore[union-attr]


def test_usage_in_a_chunk_without_choices_is_kept() -> None:
    usage_only = {
        "id": "c",
        "choices": [],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }
    message = collect(parse_chat_stream(sse_lines([chunk("hi"), usage_only, "[DONE]"])))
    assert message.content == "hi" and message.end.usage.total_tokens == 3  # type: ignore[union-attr]


def test_think_tags_split_across_chunks_become_reasoning_not_answer() -> None:
    splitter = ThinkSplitter()
    pieces = ["<thi", "nk>plan the ", "answer</th", "ink>The answer", " is 4.<", "b>"]
    answer = reasoning = ""
    for piece in pieces:
        a, r = splitter.feed(piece)
        answer, reasoning = answer + a, reasoning + r
    a, r = splitter.flush()
    assert (answer + a, reasoning + r) == ("The answer is 4.<b>", "plan the answer")
    assert split_think("<think>x</think>\nDone.") == ("Done.", "x")


def test_streamed_reasoning_field_is_kept_apart_from_content() -> None:
    events = [chunk(None, reasoning="thinking…"), chunk("Answer."), "[DONE]"]
    message = collect(parse_chat_stream(sse_lines(events)))
    assert (message.content, message.reasoning) == ("Answer.", "thinking…")


@pytest.mark.parametrize(
    ("events", "code", "text"),
    [
        ([chunk("partial")], "stream_incomplete", "ended before it was complete"),
        (
            [
                chunk("partial"),
                {"error": {"message": "Internal error", "type": "internal_server_error"}},
            ],
            None,
            "Internal error",
        ),
        (
            [chunk("partial"), chunk(None, x_groq={"id": "req_9", "error": "model overloaded"})],
            "stream_error",
            "model overloaded",
        ),
        ([chunk("partial"), "{not json"], "stream_malformed", "malformed"),
    ],
)
def test_broken_streams_raise_after_what_arrived(events, code, text) -> None:
    received: list[str] = []
    with pytest.raises(ModelApiError) as info:
        for event in parse_chat_stream(sse_lines(events)):
            if isinstance(event, StreamDelta):
                received.append(event.content)
    assert "".join(received) == "partial"
    assert info.value.code == code and text in info.value.message


@pytest.fixture
def groq(settings) -> Iterator[tuple[FakeGroq, Endpoint]]:
    settings.MODEL_API_MAX_RETRIES = 1
    with fake_groq() as fake:
        yield fake, Endpoint(fake.base_url, "gsk_test", "llama-3.3-70b-versatile")


def test_client_streams_from_a_groq_server_and_asks_for_usage(groq) -> None:
    fake, endpoint = groq
    fake.reply("chat/completions", Reply(stream=GROQ_STREAM))
    message = collect(stream_chat_completion([{"role": "user", "content": "q"}], endpoint=endpoint))
    assert message.content == "The cap is 180 euros." and message.end is not None
    sent = fake.requests[0]["json"]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}


def test_a_stream_cut_by_the_server_raises_a_clear_error(groq) -> None:
    fake, endpoint = groq
    fake.reply("chat/completions", Reply(stream=GROQ_STREAM[:2], cut=True))
    with pytest.raises(ModelApiError, match="ended before it was complete"):
        collect(stream_chat_completion([{"role": "user", "content": "q"}], endpoint=endpoint))


def test_opening_a_stream_is_retried_after_a_rate_limit(groq) -> None:
    fake, endpoint = groq
    fake.reply(
        "chat/completions",
        Reply(
            429,
            {"error": {"message": "slow down", "code": "rate_limit_exceeded"}},
            {"retry-after": "0"},
        ),
        Reply(stream=GROQ_STREAM),
    )
    message = collect(stream_chat_completion([{"role": "user", "content": "q"}], endpoint=endpoint))
    assert message.content == "The cap is 180 euros." and len(fake.requests) == 2
