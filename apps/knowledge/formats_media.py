"""A recording's sound decoded, in the extraction child, into the FLAC pieces that
``/audio/transcriptions`` accepts.

Decoding is where a hostile recording does its harm (a damaged stream, hours claimed in
a few bytes, hours of silence compressed to nothing), so it runs in the isolated child
with its time and memory limits, and is bounded by the decoded length, never by what
the header says. The child imports no Django: the parent sends the pieces to the model
server (``apps.knowledge.transcripts``).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.stream import Stream

from apps.knowledge.errors import ExtractionError
from apps.knowledge.mediakind import clock
from apps.modelapi.audio import SAMPLE_RATE, Piece, encode_flac

# Containers whose duration FFmpeg estimates rather than reads.
ESTIMATED_DURATION_FORMATS = {"mp3", "aac"}
# Packets that may fail to decode before the recording counts as damaged.
MAX_BAD_PACKET_SHARE = 0.1
# A file that holds less than half of what it claims, and a minute less, is truncated.
TRUNCATED_SHARE = 0.5
TRUNCATED_MIN_SECONDS = 60.0


@dataclass(frozen=True)
class MediaLimits:
    """Limits of one recording; the worker builds them from its settings."""

    max_seconds: float
    piece_seconds: float
    overlap_seconds: float


@dataclass(frozen=True)
class Recording:
    """The decoded sound, in FLAC pieces on the recording's clock."""

    seconds: float  # decoded, not declared
    has_video: bool
    pieces: list[Piece]


def prepare_recording(data: bytes, limits: MediaLimits) -> Recording:
    """Decode the first audio track to 16 kHz mono FLAC pieces of ``piece_seconds``
    overlapping by ``overlap_seconds``; a reason (``ExtractionError``) for anything else."""
    try:
        # Tags in another encoding than UTF-8 (old recorders' Latin-1) are no reason to fail.
        with av.open(io.BytesIO(data), mode="r", metadata_errors="replace") as container:
            stream = _audio_stream(container)
            declared = _declared_seconds(container, stream)
            if declared is not None and declared > limits.max_seconds:
                raise ExtractionError(
                    f"The recording is {clock(declared)} long; the limit is "
                    f"{clock(limits.max_seconds)}."
                )
            pieces, samples = _decoded_pieces(container, stream, limits)
            has_video = any(_is_moving_picture(s) for s in container.streams.video)
    except (av.FFmpegError, ValueError, OverflowError) as exc:
        raise ExtractionError(f"The recording could not be decoded: {exc}") from exc
    seconds = samples / SAMPLE_RATE
    if not samples:
        raise ExtractionError("The recording's audio track holds no sound.")
    if (
        declared is not None
        and seconds < declared * TRUNCATED_SHARE
        and declared - seconds > TRUNCATED_MIN_SECONDS
    ):
        raise ExtractionError(
            f"The file claims {clock(declared)} of audio but holds only {clock(seconds)}: "
            "it is truncated or damaged."
        )
    return Recording(seconds=seconds, has_video=has_video, pieces=pieces)


def _audio_stream(container: InputContainer) -> AudioStream:
    if not container.streams.audio:
        moving = any(_is_moving_picture(s) for s in container.streams.video)
        what = "video has no audio track" if moving else "file has no audio track"
        raise ExtractionError(f"The {what}; there is nothing to transcribe.")
    return container.streams.audio[0]


def _declared_seconds(container: InputContainer, stream: AudioStream) -> float | None:
    """What the header claims: the stream's duration, else the container's; None where
    FFmpeg only estimates it from the first frame's bit rate (MP3 without a Xing header,
    ADTS AAC), which a variable bit rate makes wrong both ways."""
    if container.format.name in ESTIMATED_DURATION_FORMATS:
        return None
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return container.duration / 1_000_000 if container.duration else None


def _is_moving_picture(stream: Stream) -> bool:
    """A video track, not an MP3's cover picture."""
    return not stream.disposition & av.stream.Disposition.attached_pic


def _decoded_pieces(
    container: InputContainer, stream: AudioStream, limits: MediaLimits
) -> tuple[list[Piece], int]:
    """FLAC pieces cut while decoding, so memory holds one piece of samples at a time."""
    length = int(limits.piece_seconds * SAMPLE_RATE)
    step = max(1, length - int(limits.overlap_seconds * SAMPLE_RATE))
    max_samples = int(limits.max_seconds * SAMPLE_RATE)
    pieces: list[Piece] = []
    pending: list[np.ndarray] = []
    pending_count = offset = total = 0
    for samples in _samples(container, stream):
        total += len(samples)
        if total > max_samples:
            raise ExtractionError(
                f"The recording runs past the limit of {clock(limits.max_seconds)}."
            )
        pending.append(samples)
        pending_count += len(samples)
        while pending_count >= length:
            joined = np.concatenate(pending)
            pieces.append(_piece(offset, joined[:length]))
            rest = joined[step:]
            pending, pending_count, offset = [rest], len(rest), offset + step
    overlap_only = bool(pieces) and pending_count <= length - step
    if pending_count and not overlap_only:
        pieces.append(_piece(offset, np.concatenate(pending)))
    return pieces, total


def _piece(offset: int, samples: np.ndarray) -> Piece:
    return Piece(offset / SAMPLE_RATE, len(samples) / SAMPLE_RATE, encode_flac(samples))


def _samples(container: InputContainer, stream: AudioStream) -> Iterator[np.ndarray]:
    """16 kHz mono int16 arrays, packet by packet. A damaged packet is replaced by its
    length of silence, so later times stay right; more than a tenth of them (after the
    first ten) fail the recording. A change of sample rate or layout mid-stream (spliced
    files) gets a new resampler."""
    resampler, shape = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE), None
    good = bad = 0
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.InvalidDataError as exc:
            bad += 1
            if bad > 10 and bad > MAX_BAD_PACKET_SHARE * (good + bad):
                raise ExtractionError(
                    f"The recording is damaged: {bad} of its first {good + bad} packets "
                    f"could not be decoded ({exc})."
                ) from exc
            yield _silence(packet.duration, packet.time_base)
            continue
        good += 1
        for frame in frames:
            frame_shape = (frame.format.name, frame.layout.name, frame.sample_rate)
            if shape is not None and frame_shape != shape:
                yield from _flushed(resampler)
                resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            shape = frame_shape
            for out in resampler.resample(frame):
                yield out.to_ndarray().reshape(-1)
    yield from _flushed(resampler)


def _flushed(resampler: av.AudioResampler) -> Iterator[np.ndarray]:
    for out in resampler.resample(None):
        yield out.to_ndarray().reshape(-1)


def _silence(duration: int | None, time_base: object) -> np.ndarray:
    """A lost packet's length of silence (nothing when its length is unknown)."""
    try:
        seconds = float(duration * time_base) if duration else 0.0  # type: ignore[operator]
    except (TypeError, ValueError, OverflowError):
        seconds = 0.0
    return np.zeros(int(min(max(seconds, 0.0), 10.0) * SAMPLE_RATE), dtype=np.int16)
