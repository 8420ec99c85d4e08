"""A recording as knowledge: decoded in the isolated child, transcribed piece by piece
through ``/audio/transcriptions``, its failed and silent segments dropped, and written as a
transcript whose segments are paragraphs with their times.

Each segment's ``[start, end)`` in the transcript text is kept with its seconds
(``Extracted.times``), so that a chunk (a run of whole segments) knows when it is said, and
the viewer can follow playback. The model server is called here, in the worker, not in the
child: the child has no settings and no network, only the decoder and its limits.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, replace
from functools import partial

from django.conf import settings

from apps.knowledge.chunking import ChunkDraft
from apps.knowledge.cleaning import clean_line
from apps.knowledge.errors import ExtractionError
from apps.knowledge.extracted import Extracted, TimeSpan
from apps.knowledge.formats_media import MediaLimits, Recording, prepare_recording
from apps.knowledge.models import Document
from apps.knowledge.sandbox import run_isolated
from apps.modelapi.audio import AudioError
from apps.modelapi.schemas import Transcription, TranscriptionSegment
from apps.modelapi.transcription import stitch, transcribe

PARAGRAPH = "\n\n"
# Whisper's no-speech figure is per 30 s window: a window where speech starts late can score
# high and still hold good words, so "sure silence" drops only what says almost nothing
# (tiny.en's " you" in silence).
SURE_SILENCE_MAX_WORDS = 3


@dataclass(frozen=True)
class SpeechThresholds:
    """When a segment counts as failed or as silence (Whisper's own figures by default)."""

    min_avg_logprob: float = -1.0
    max_compression_ratio: float = 2.4
    silence_no_speech_prob: float = 0.6
    sure_silence_no_speech_prob: float = 0.9


def speech_thresholds() -> SpeechThresholds:
    return SpeechThresholds(
        min_avg_logprob=settings.TRANSCRIPTION_MIN_AVG_LOGPROB,
        max_compression_ratio=settings.TRANSCRIPTION_MAX_COMPRESSION_RATIO,
        silence_no_speech_prob=settings.TRANSCRIPTION_SILENCE_NO_SPEECH_PROB,
        sure_silence_no_speech_prob=settings.TRANSCRIPTION_SURE_SILENCE_NO_SPEECH_PROB,
    )


def segment_verdict(segment: TranscriptionSegment, thresholds: SpeechThresholds) -> str:
    """ "speech", "silence" or "failed"; figures a server leaves out do not count against."""
    no_speech = segment.no_speech_prob
    logprob = segment.avg_logprob
    low_logprob = logprob is not None and logprob < thresholds.min_avg_logprob
    few_words = len(segment.text.split()) <= SURE_SILENCE_MAX_WORDS
    if no_speech is not None and (
        (no_speech > thresholds.sure_silence_no_speech_prob and few_words)
        or (no_speech > thresholds.silence_no_speech_prob and low_logprob)
    ):
        return "silence"
    if not (math.isfinite(segment.start) and math.isfinite(segment.end)):
        return "failed"  # a server's NaN or Infinity cannot be stored or played
    if not any(c.isalnum() for c in segment.text):
        return "silence"  # "." or "…": nothing was said
    ratio = segment.compression_ratio
    if low_logprob or (ratio is not None and ratio > thresholds.max_compression_ratio):
        return "failed"
    return "speech"


def transcript_text(transcription: Transcription, thresholds: SpeechThresholds) -> Extracted:
    """The usable segments, one paragraph each, with their spans and seconds."""
    parts: list[str] = []
    times: list[TimeSpan] = []
    dropped = {"silence": 0, "failed": 0}
    offset = 0
    for segment in transcription.segments:
        verdict = segment_verdict(segment, thresholds)
        text = clean_line(segment.text)
        if verdict != "speech" or not text:
            dropped[verdict if verdict != "speech" else "silence"] += 1
            continue
        if parts:
            offset += len(PARAGRAPH)
        times.append(TimeSpan(offset, offset + len(text), segment.start, segment.end))
        parts.append(text)
        offset += len(text)
    if not parts:
        raise ExtractionError(no_speech_reason(dropped["silence"], dropped["failed"]))
    return Extracted(text=PARAGRAPH.join(parts), times=times)


def no_speech_reason(silent: int, failed: int) -> str:
    if not silent and not failed:
        return "No speech was found in the recording."
    return (
        f"No usable speech in the recording: {silent} segment(s) were silence and {failed} "
        "failed the transcription's quality thresholds."
    )


def media_limits() -> MediaLimits:
    """Pieces of at least 10 s, overlapping by less than half a piece, whatever is set."""
    piece = max(10.0, float(settings.TRANSCRIPTION_PIECE_SECONDS))
    return MediaLimits(
        max_seconds=float(settings.RECORDING_MAX_SECONDS),
        piece_seconds=piece,
        overlap_seconds=min(max(0.0, float(settings.TRANSCRIPTION_OVERLAP_SECONDS)), piece / 2),
    )


def decode_recording(data: bytes) -> Recording:
    """Decoded in the isolated child, under the recording limits."""
    return run_isolated(
        partial(prepare_recording, data, media_limits()),
        timeout=settings.RECORDING_DECODE_TIMEOUT_SECONDS,
        memory_mb=settings.RECORDING_MEMORY_MB,
        doing="Decoding this recording",
    )


def transcribe_recording(document: Document, data: bytes) -> Extracted:
    """The recording's transcript; progress counts the seconds transcribed. A model-server
    failure raises ``ModelApiError`` (the caller retries later)."""
    document.set_progress(Document.Stage.EXTRACTING)
    recording = decode_recording(data)
    total = round(recording.seconds)
    document.set_progress(Document.Stage.TRANSCRIBING, 0, total)
    parts: list[tuple[float, float, Transcription]] = []
    for piece in recording.pieces:
        try:
            result = transcribe(piece.data, "piece.flac", language=settings.TRANSCRIPTION_LANGUAGE)
        except AudioError as exc:  # a piece refused as too large could not be cut again
            raise ExtractionError(f"The recording could not be cut into pieces: {exc}") from exc
        parts.append((piece.offset, piece.seconds, result))
        done = min(total, round(piece.offset + piece.seconds))
        document.set_progress(Document.Stage.TRANSCRIBING, done, total)
    transcript = transcript_text(stitch(parts), speech_thresholds())
    return replace(transcript, title=document.title)


def with_times(drafts: list[ChunkDraft], times: list[TimeSpan]) -> list[ChunkDraft]:
    """Each chunk's first and last second: from the segments its characters overlap."""
    if not times:
        return drafts
    starts = [span.start for span in times]
    timed = []
    for draft in drafts:
        first = max(0, bisect.bisect_right(starts, draft.char_start) - 1)
        if times[first].end <= draft.char_start:
            first += 1
        last = max(first, bisect.bisect_left(starts, draft.char_end) - 1)
        covered = times[first : last + 1] or times[-1:]
        timed.append(
            replace(
                draft,
                start_seconds=covered[0].start_seconds,
                end_seconds=covered[-1].end_seconds,
            )
        )
    return timed
