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
