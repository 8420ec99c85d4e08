"""Speech for the tests: Debian's espeak-ng reads sentences, with silence between them, so
each sentence starts at a known second."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from dataclasses import dataclass

import numpy as np
import pytest

ESPEAK = shutil.which("espeak-ng")


@dataclass(frozen=True)
class Speech:
    wav: bytes
    starts: list[float]  # seconds at which each sentence begins
    duration: float


def _say(sentence: str) -> tuple[np.ndarray, int]:
    if ESPEAK is None:
        pytest.fail("Debian's espeak-ng is required for the speech tests (make test installs it)")
    out = subprocess.run(
        [ESPEAK, "--stdout", "-s", "150", sentence], capture_output=True, check=True, timeout=60
    ).stdout
    with wave.open(io.BytesIO(out)) as reader:
        rate = reader.getframerate()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
    return samples, rate


def speech(sentences: list[str], *, gap_seconds: float = 1.5, lead_seconds: float = 0.5) -> Speech:
    """One WAV of the sentences, ``gap_seconds`` of silence between them."""
    pieces: list[np.ndarray] = []
    starts: list[float] = []
    rate = 22050
    position = 0
    for number, sentence in enumerate(sentences):
        samples, rate = _say(sentence)
        silence = np.zeros(int(rate * (lead_seconds if number == 0 else gap_seconds)), "<i2")
        pieces.append(silence)
        position += len(silence)
        starts.append(position / rate)
        pieces.append(samples)
        position += len(samples)
    pieces.append(np.zeros(int(rate * 0.5), "<i2"))
    audio = np.concatenate(pieces)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(audio.tobytes())
    return Speech(buffer.getvalue(), starts, len(audio) / rate)


# (container format, audio codec, video codec or None) for the types a team records in.
CONTAINERS = {
    "mp3": ("mp3", "libmp3lame", None),
    "m4a": ("ipod", "aac", None),
    "ogg": ("ogg", "libopus", None),
    "webm": ("webm", "libopus", "libvpx"),
    "mov": ("mov", "aac", "mpeg4"),
    "mp4": ("mp4", "aac", "mpeg4"),
}


def encoded(wav: bytes, kind: str, *, audio: bool = True) -> bytes:
    """The WAV re-encoded as ``kind`` (PyAV, FFmpeg's encoders); a video kind gets a black
    picture track, and ``audio=False`` leaves the sound out (a video without an audio track)."""
    import av

    container_format, audio_codec, video_codec = CONTAINERS[kind]
    with wave.open(io.BytesIO(wav)) as reader:
        rate = reader.getframerate()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
    seconds = len(samples) / rate
    out = io.BytesIO()
    with av.open(out, mode="w", format=container_format) as container:
        picture = None
        if video_codec:
            picture = container.add_stream(video_codec, rate=5)
            picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"
        sound = container.add_stream(audio_codec, rate=48000 if kind in ("ogg", "webm") else rate)
        if audio:
            resampler = av.AudioResampler(format=sound.format.name, layout="mono", rate=sound.rate)
            frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = rate
            for piece in resampler.resample(frame):
                for packet in sound.encode(piece):
                    container.mux(packet)
            for packet in sound.encode(None):
                container.mux(packet)
        if picture is not None:
            black = np.zeros((48, 64, 3), dtype=np.uint8)
            for index in range(int(seconds * 5)):
                image = av.VideoFrame.from_ndarray(black, format="rgb24")
                image.pts = index
                for packet in picture.encode(image):
                    container.mux(packet)
            for packet in picture.encode(None):
                container.mux(packet)
    return out.getvalue()
