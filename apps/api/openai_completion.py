"""A finished answer as a ``chat.completion`` object (the non-streamed response), and the
pieces the streamed one shares with it (header fields, usage, late citations)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from apps.api.openai_annotations import AnnotationContext, message_annotations
from apps.chat.answering import Answered
from apps.chat.citations import MARKER, Citation


@dataclass(frozen=True)
class Completion:
    """One completion's identity: the same id and time in every chunk of a stream."""

    model: str
    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))

    def header(self, object_name: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": object_name,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
        }


def usage_json(answered: Answered) -> dict[str, int]:
    """The chat model's token counts (zeros when no model was asked: nothing matched)."""
    usage = answered.metadata.get("usage") or {}
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    total = int(usage.get("total_tokens") or prompt + completion)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}


def completion_json(
    completion: Completion, answered: Answered, context: AnnotationContext | None
) -> dict[str, Any]:
    """The ``chat.completion`` body; ``context`` is ``None`` when citations are disabled."""
    message: dict[str, Any] = {"role": "assistant", "content": answered.content}
    message["annotations"] = (
        message_annotations(answered.citations, context) if context is not None else []
    )
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
    return {
        **completion.header("chat.completion"),
        "choices": [choice],
        "usage": usage_json(answered),
    }


def _raw_positions(raw: str, clean: str) -> list[int]:
    """For each position of ``clean`` (``raw`` with marker runs cut out), where it is in
    ``raw``: characters are matched in order, skipping what was cut."""
    positions: list[int] = []
    cursor = 0
    for char in clean:
        while cursor < len(raw) and raw[cursor] != char:
            cursor += 1
        positions.append(min(cursor, len(raw)))
        cursor += 1
    positions.append(len(raw))
    return positions


def _moved(citation: Citation, positions: list[int]) -> Citation:
    start = positions[min(citation.start, len(positions) - 1)]
    end = positions[citation.end - 1] + 1 if citation.end > 0 else 0
    return Citation(**{**citation.as_json(), "start": start, "end": max(start, end)})


def marker_annotations(
    answered: Answered, streamed: str, context: AnnotationContext | None
) -> list[dict[str, Any]]:
    """Citations that only the finished answer knows (prompt mode: ``[n]`` markers parsed at
    the end), with their spans moved into the text as it was streamed (markers included)."""
    late = [c for c in answered.citations if c.kind == MARKER]
    if not late or context is None:
        return []
    positions = _raw_positions(streamed, answered.content)
    return message_annotations([_moved(c, positions) for c in late], context)
