"""Recordings cut into pieces a transcription server accepts (PyAV, FFmpeg's decoders).

Only used after a server refused a whole recording as too large (413): the audio is
decoded once to 16 kHz mono and each piece is encoded as FLAC (lossless, about half a
megabyte a minute of speech).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import av
import numpy as np

SAMPLE_RATE = 16_000


class AudioError(ValueError):
    """The bytes hold no decodable audio."""


@dataclass(frozen=True)
class Piece:
    offset: float  # seconds from the start of the recording
    seconds: float  # its length
    data: bytes = field(repr=False)  # FLAC


def decode_mono(data: bytes) -> np.ndarray:
    """The first audio stream as 16 kHz mono int16 samples."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise AudioError("the file has no audio track")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            chunks: list[np.ndarray] = []
            for frame in container.decode(container.streams.audio[0]):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except av.FFmpegError as exc:
        raise AudioError(f"the audio could not be decoded: {exc}") from exc
    if not chunks:
        raise AudioError("the audio track holds no samples")
    return np.concatenate(chunks).astype(np.int16)


def encode_flac(samples: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="flac") as container:
        stream = container.add_stream("flac", rate=SAMPLE_RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def cut(samples: np.ndarray, *, piece_seconds: float, overlap_seconds: float) -> list[Piece]:
    """Pieces of ``piece_seconds``, each starting ``overlap_seconds`` before the previous
    one ends (a word cut at a boundary is whole in one of them)."""
    length = int(piece_seconds * SAMPLE_RATE)
    step = max(1, length - int(overlap_seconds * SAMPLE_RATE))
    pieces = []
    for start in range(0, len(samples), step):
        part = samples[start : start + length]
        pieces.append(Piece(start / SAMPLE_RATE, len(part) / SAMPLE_RATE, encode_flac(part)))
        if start + length >= len(samples):
            break
    return pieces
