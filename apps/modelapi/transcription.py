"""Speech to text through ``/audio/transcriptions`` (Whisper, ``verbose_json``).

One request for the whole recording; a 413 (too large for the server) cuts it into
overlapping pieces (``apps.modelapi.audio``), halved again while refused, whose segments
are shifted to the recording's clock and stitched at the middle of each overlap.
"""

from __future__ import annotations

import logging
import mimetypes
import re
from collections.abc import Sequence
from difflib import SequenceMatcher

from django.conf import settings

from apps.modelapi.audio import cut, decode_mono
from apps.modelapi.client import is_request_too_large, validate_response
from apps.modelapi.errors import ModelApiError
from apps.modelapi.schemas import Transcription, TranscriptionSegment, TranscriptionWord
from apps.modelapi.transport import Endpoint, Multipart, request_json, transcription_endpoint

logger = logging.getLogger(__name__)

PATH = "audio/transcriptions"
MIN_PIECE_SECONDS = 30.0


def _content_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _transcribe_once(
    endpoint: Endpoint, data: bytes, filename: str, *, language: str, prompt: str
) -> Transcription:
    fields: dict[str, str | list[str]] = {
        "model": endpoint.model,
        "response_format": "verbose_json",
        "timestamp_granularities[]": ["segment", "word"],
        "temperature": "0",
    }
    if language:
        fields["language"] = language
    if prompt:
        fields["prompt"] = prompt[:800]
    body = Multipart(fields=fields, files={"file": (filename, data, _content_type(filename))})
    return validate_response(Transcription, request_json(endpoint, "POST", PATH, body), PATH)


def stitch(parts: Sequence[tuple[float, float, Transcription]]) -> Transcription:
    """``(offset, seconds, transcript)`` per piece, in order → one transcript on the
    recording's clock. Where two pieces overlap, each segment (and word) goes by its own
    middle: the earlier piece keeps those centred before the middle of the overlap, the
    later one those centred from there. A segment running across the seam is kept whole
    from the piece that holds most of it, and when both pieces kept their own hearing of
    it, only the fuller one stays; a cut by start time alone dropped the rest of a
    sentence."""
    cuts = [
        (offset_next + offset + seconds) / 2
        for (offset, seconds, _), (offset_next, _, _) in zip(parts, parts[1:], strict=False)
    ]
    bounds = list(zip([float("-inf"), *cuts], [*cuts, float("inf")], strict=True))
    segments: list[TranscriptionSegment] = []
    words: list[TranscriptionWord] = []
    for (offset, _, part), (low, high) in zip(parts, bounds, strict=True):
        shifted = part.shifted(offset)
        kept = [s for s in shifted.segments if low <= (s.start + s.end) / 2 < high]
        segments = _without_repeats(segments, kept)
        words += [w for w in shifted.words if low <= (w.start + w.end) / 2 < high]
    for number, segment in enumerate(segments):
        segment.id = number
    return Transcription(
        text=" ".join(s.text.strip() for s in segments if s.text.strip()),
        language=next((p.language for _, _, p in parts if p.language), None),
        duration=(parts[-1][0] + parts[-1][1]) if parts else None,
        segments=segments,
        words=words,
    )


def _word_count(segment: TranscriptionSegment) -> int:
    return len(segment.text.split())


def _without_repeats(
    earlier: list[TranscriptionSegment], later: list[TranscriptionSegment]
) -> list[TranscriptionSegment]:
    """``earlier`` then ``later``, where a sentence across the seam that both pieces heard
    (their times overlap by more than half the shorter) is kept once: the fuller hearing,
    with more words (a piece that starts mid-sentence misses its first words)."""
    result = list(earlier)
    for segment in later:
        twin = next((s for s in reversed(result[-3:]) if _same_speech(s, segment)), None)
        if twin is None:
            result.append(segment)
        elif _word_count(segment) > _word_count(twin):
            result[result.index(twin)] = segment
    return result


def _same_speech(a: TranscriptionSegment, b: TranscriptionSegment) -> bool:
    """Two hearings of one sentence: their times overlap by more than half the shorter,
    and most of the shorter one's words are in the longer (Whisper stretches a piece's last
    segment to the piece's end, so time alone would join two different sentences)."""
    shared = min(a.end, b.end) - max(a.start, b.start)
    shorter = min(a.end - a.start, b.end - b.start)
    if shorter <= 0 or shared <= shorter / 2:
        return False
    words_a, words_b = _words(a.text), _words(b.text)
    few, many = sorted((words_a, words_b), key=len)
    if not few:
        return False
    matched = SequenceMatcher(None, few, many, autojunk=False).get_matching_blocks()
    return sum(block.size for block in matched) >= len(few) / 2


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def transcribe(
    data: bytes,
    filename: str,
    *,
    language: str = "",
    prompt: str = "",
    endpoint: Endpoint | None = None,
) -> Transcription:
    """The recording's transcript with segment (and, where the server gives them, word)
    times in seconds from its start."""
    endpoint = endpoint or transcription_endpoint()
    try:
        return _transcribe_once(endpoint, data, filename, language=language, prompt=prompt)
    except ModelApiError as exc:
        if not is_request_too_large(exc):
            raise
    samples = decode_mono(data)
    piece_seconds = float(settings.TRANSCRIPTION_PIECE_SECONDS)
    overlap = float(settings.TRANSCRIPTION_OVERLAP_SECONDS)
    while True:
        logger.info("transcription too large for the server; pieces of %.0f s", piece_seconds)
        pieces = cut(samples, piece_seconds=piece_seconds, overlap_seconds=overlap)
        try:
            results = [
                _transcribe_once(endpoint, p.data, "piece.flac", language=language, prompt=prompt)
                for p in pieces
            ]
        except ModelApiError as exc:
            if not is_request_too_large(exc) or piece_seconds / 2 < MIN_PIECE_SECONDS:
                raise
            piece_seconds /= 2
            continue
        return stitch(
            [(p.offset, p.seconds, result) for p, result in zip(pieces, results, strict=True)]
        )
