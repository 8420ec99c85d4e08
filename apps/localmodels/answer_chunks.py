"""Groq-shaped SSE for the local answerer: the same chunks, ``x_groq`` metadata and ``[DONE]``."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

from apps.localmodels.answerer import Answer

_PIECE = re.compile(r"\S+\s*|\s+")
WORDS_PER_CHUNK = 3


def _sse(payload: dict[str, Any] | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return f"data: {data}\n\n".encode()


def stream_answer(
    answer: Answer,
    *,
    model: str,
    request_id: str,
    with_citations: bool,
    usage: dict[str, int],
    include_usage: bool,
) -> Iterator[bytes]:
    """Chunks of a few words; each citation rides on the chunk that completes its span."""
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": None,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return _sse({**base, "choices": [choice], **extra})

    yield chunk({"role": "assistant", "content": ""}, x_groq={"id": request_id})
    pending = sorted(answer.citations, key=lambda c: c.end_index) if with_citations else []
    pieces = _PIECE.findall(answer.content)
    sent = 0
    for start in range(0, len(pieces), WORDS_PER_CHUNK):
        text = "".join(pieces[start : start + WORDS_PER_CHUNK])
        sent += len(text)
        delta: dict[str, Any] = {"content": text}
        done = [c for c in pending if c.end_index <= sent]
        if done:
            delta["annotations"] = [c.annotation() for c in done]
            pending = pending[len(done) :]
        yield chunk(delta)
    yield chunk({}, "stop", x_groq={"id": request_id, "usage": usage})
    if include_usage:
        yield _sse({**base, "choices": [], "usage": usage})
    yield _sse("[DONE]")
