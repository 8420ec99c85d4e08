"""The local provider's /audio/transcriptions: real Whisper tiny.en on espeak-ng speech,
through the official SDKs and through our client."""

from __future__ import annotations

import re

import groq
import openai
import pytest

from apps.modelapi.errors import ModelApiError
from apps.modelapi.transcription import transcribe
from tests.speech import speech

SENTENCES = [
    "The quarterly budget review is on Thursday.",
    "Please send your numbers to Maria before noon.",
    "The new office opens in March.",
]


@pytest.fixture(scope="module")
def recording():
    return speech(SENTENCES, gap_seconds=2.0)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def _heard(expected: str, heard: str) -> float:
    """The share of the sentence's words that were heard (espeak is not a human voice)."""
    words = _words(expected)
    return sum(1 for w in words if w in set(_words(heard))) / len(words)


def test_the_openai_sdk_gets_segments_and_words_at_the_right_seconds(
    app_server_url, recording
) -> None:
    client = openai.OpenAI(base_url=f"{app_server_url}/local/v1", api_key="unused", max_retries=0)
    result = client.audio.transcriptions.create(
        model="whisper-tiny.en",
        file=("weekly-sync.wav", recording.wav, "audio/wav"),
        response_format="verbose_json",
        timestamp_granularities=["segment", "word"],
    )
    assert result.duration == pytest.approx(recording.duration, abs=0.1)
    segments = result.segments or []
    assert len(segments) == len(SENTENCES)
    for segment, sentence, start in zip(segments, SENTENCES, recording.starts, strict=True):
        assert _heard(sentence, segment.text) >= 0.6, (sentence, segment.text)
        assert abs(segment.start - start) < 1.0, (segment.start, start)
        assert segment.end > segment.start and segment.avg_logprob > -1.0
        assert segment.compression_ratio < 2.4 and 0 <= segment.no_speech_prob <= 1
    words = result.words or []
    maria = next(w for w in words if "maria" in w.word.lower())
    assert recording.starts[1] < maria.start < recording.starts[2]


def test_the_groq_sdk_gets_json_and_text(app_server_url, recording) -> None:
    client = groq.Groq(base_url=f"{app_server_url}/local", api_key="unused", max_retries=0)
    plain = client.audio.transcriptions.create(
        model="whisper-tiny.en", file=("sync.wav", recording.wav)
    )
    assert _heard(" ".join(SENTENCES), plain.text) >= 0.7
    text = client.audio.transcriptions.create(
        model="whisper-tiny.en", file=("sync.wav", recording.wav), response_format="text"
    )
    assert isinstance(text, str) and "budget" in text.lower()


def test_our_client_transcribes_with_segment_times(recording) -> None:
    result = transcribe(recording.wav, "weekly-sync.wav", language="en")
    assert len(result.segments) == len(SENTENCES)
    for segment, start in zip(result.segments, recording.starts, strict=True):
        assert abs(segment.start - start) < 1.0, (segment.start, start)
    assert result.words and result.text.lower().startswith("the quarterly budget")


@pytest.mark.parametrize(
    ("fields", "file", "status", "fragment"),
    [
        ({"model": "whisper-tiny.en"}, None, 400, "file"),
        ({"model": "whisper-tiny.en"}, b"not audio at all" * 50, 400, "decoded"),
        ({"model": "whisper-large-v3"}, b"RIFF", 404, "does not exist"),
        ({"model": "whisper-tiny.en", "response_format": "srt"}, b"RIFF", 400, "response_format"),
        ({"model": "whisper-tiny.en", "language": "fr"}, b"RIFF", 400, "English"),
        (
            {"model": "whisper-tiny.en", "timestamp_granularities[]": "char"},
            b"RIFF",
            400,
            "granularities",
        ),
    ],
)
def test_bad_requests_get_groq_shaped_errors(client, fields, file, status, fragment) -> None:
    data = dict(fields)
    if file is not None:
        from django.core.files.uploadedfile import SimpleUploadedFile

        data["file"] = SimpleUploadedFile("x.wav", file)
    response = client.post("/local/v1/audio/transcriptions", data, REMOTE_ADDR="127.0.0.1")
    assert response.status_code == status
    assert fragment in response.json()["error"]["message"]


def test_an_undecodable_file_is_a_clear_client_error_not_a_retry(app_server_url) -> None:
    with pytest.raises(ModelApiError) as caught:
        transcribe(b"\x00" * 4000, "broken.mp3")
    assert caught.value.status == 400 and "decoded" in str(caught.value)


def test_a_video_without_an_audio_track_is_a_clear_400(client) -> None:
    import io

    import av
    import numpy as np
    from django.core.files.uploadedfile import SimpleUploadedFile

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="matroska") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height = 64, 48
        for _ in range(10):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    upload = SimpleUploadedFile("silent.mkv", buffer.getvalue())
    response = client.post(
        "/local/v1/audio/transcriptions",
        {"model": "whisper-tiny.en", "file": upload},
        REMOTE_ADDR="127.0.0.1",
    )
    assert response.status_code == 400 and "audio" in response.json()["error"]["message"]
