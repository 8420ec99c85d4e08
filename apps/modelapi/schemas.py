"""Pydantic models of the wire format (Groq's OpenAI-compatible API).

Response models ignore unknown fields so that servers may add to them; request
bodies are built as plain dicts by the client so that nothing unknown is ever sent.
"""

from __future__ import annotations

import base64
import struct
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ErrorBody(_Lenient):
    message: str = ""
    type: str | None = None
    code: str | int | None = None


class ErrorEnvelope(_Lenient):
    error: ErrorBody


class EmbeddingItem(_Lenient):
    index: int = 0
    embedding: list[float] | str

    def vector(self) -> list[float]:
        if isinstance(self.embedding, str):
            raw = base64.b64decode(self.embedding)
            return list(struct.unpack(f"<{len(raw) // 4}f", raw))
        return self.embedding


class Usage(_Lenient):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


class EmbeddingsResponse(_Lenient):
    data: list[EmbeddingItem]
    model: str | None = None
    usage: Usage | None = None


class GroqRerankResult(_Lenient):
    doc: str
    score: float


class GroqRerankResponse(_Lenient):
    results: list[GroqRerankResult]


class DocumentCitation(_Lenient):
    document_id: str
    start_index: int
    end_index: int


class FunctionCitation(_Lenient):
    tool_call_id: str
    start_index: int
    end_index: int


class UrlCitation(_Lenient):
    url: str
    title: str | None = None
    start_index: int | None = None
    end_index: int | None = None


class Annotation(_Lenient):
    """Every annotation kind of the family, in one lenient shape.

    Chat completions nest the payload under its type (``document_citation``,
    ``function_citation``, OpenAI's ``url_citation``); the Responses API puts
    ``file_citation`` / ``url_citation`` fields flat on the annotation.
    """

    type: str
    document_citation: DocumentCitation | None = None
    function_citation: FunctionCitation | None = None
    url_citation: UrlCitation | None = None
    # Responses API, flat fields:
    file_id: str | None = None
    filename: str | None = None
    index: int | None = None
    url: str | None = None
    title: str | None = None
    start_index: int | None = None
    end_index: int | None = None


class ChatMessage(_Lenient):
    role: str = "assistant"
    content: str | None = None
    reasoning: str | None = None
    annotations: list[Annotation] | None = None


class ChatChoice(_Lenient):
    index: int = 0
    message: ChatMessage
    finish_reason: str | None = None


class XGroq(_Lenient):
    id: str | None = None


class ChatCompletion(_Lenient):
    id: str | None = None
    object: str | None = None
    created: int | None = None
    model: str | None = None
    choices: list[ChatChoice]
    usage: Usage | None = None
    x_groq: XGroq | None = None


class ChunkDelta(_Lenient):
    role: str | None = None
    content: str | None = None
    reasoning: str | None = None
    annotations: list[Annotation] | None = None


class ChunkChoice(_Lenient):
    index: int = 0
    delta: ChunkDelta = Field(default_factory=ChunkDelta)
    finish_reason: str | None = None


class XGroqChunk(_Lenient):
    id: str | None = None
    usage: Usage | None = None
    error: ErrorBody | str | None = None


class ChatCompletionChunk(_Lenient):
    id: str | None = None
    model: str | None = None
    choices: list[ChunkChoice] = Field(default_factory=list)
    usage: Usage | None = None
    x_groq: XGroqChunk | None = None
    error: ErrorBody | None = None


class TextSource(BaseModel):
    type: Literal["text"] = "text"
    text: str


class ChatDocument(BaseModel):
    """One item of the chat request's ``documents``: exactly ``{id, source}``."""

    model_config = ConfigDict(extra="forbid")
    id: str
    source: TextSource

    def wire(self) -> dict[str, Any]:
        return self.model_dump()


# --- /audio/transcriptions (verbose_json) ---


class TranscriptionWord(_Lenient):
    word: str
    start: float
    end: float


class TranscriptionSegment(_Lenient):
    id: int = 0
    seek: int = 0
    start: float
    end: float
    text: str
    tokens: list[int] = Field(default_factory=list)
    temperature: float = 0.0
    avg_logprob: float = 0.0
    compression_ratio: float = 0.0
    no_speech_prob: float = 0.0


class Transcription(_Lenient):
    text: str
    language: str | None = None
    duration: float | None = None
    segments: list[TranscriptionSegment] = Field(default_factory=list)
    words: list[TranscriptionWord] = Field(default_factory=list)

    def shifted(self, seconds: float) -> Transcription:
        """The same transcript on a clock ``seconds`` later (a piece of a longer recording)."""
        return self.model_copy(
            update={
                "segments": [
                    s.model_copy(update={"start": s.start + seconds, "end": s.end + seconds})
                    for s in self.segments
                ],
                "words": [
                    w.model_copy(update={"start": w.start + seconds, "end": w.end + seconds})
                    for w in self.words
                ],
            }
        )
