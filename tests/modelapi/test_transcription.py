"""transcribe() against a Groq stand-in: a recording refused as too large (413) goes in
overlapping pieces stitched back on the recording's clock; 429 waits and retries; a
malformed answer is a clear error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import pytest

from apps.localmodels import transcriber
from apps.modelapi import transport
from apps.modelapi.errors import ModelApiError
from apps.modelapi.transcription import transcribe
from apps.modelapi.transport import Endpoint
from tests.servers import FakeGroq, Reply, fake_groq
from tests.speech import speech

SENTENCES = [
    "Our first topic is the budget.",
    "Second, the hiring plan for spring.",
    "Third, the office move in March.",
    "Finally, questions from the team.",
]
PATH = "audio/transcriptions"


@pytest.fixture
def groq(settings) -> Iterator[tuple[FakeGroq, Endpoint]]:
    settings.MODEL_API_MAX_RETRIES = 3
    with fake_groq() as fake:
        yield fake, Endpoint(fake.base_url, "gsk_test_key", "whisper-large-v3-turbo")


def _parts(request: dict[str, Any]) -> dict[str, Any]:
    """The multipart form: field name → value (bytes for the file; repeated → list)."""
    raw = (
        b"Content-Type: "
        + request["headers"]["Content-Type"].encode()
        + b"\r\n\r\n"
        + request["body"]
    )
    message = BytesParser(policy=HTTP).parsebytes(raw)
    parts: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        value = part.get_payload(decode=True)
        if part.get_filename() is None:
            value = value.decode()
        if name in parts:
            parts[name] = [
                *([parts[name]] if not isinstance(parts[name], list) else parts[name]),
                value,
            ]
        else:
            parts[name] = value
    return parts


def _whisper_stand_in(limit_bytes: int):
    """Groq's answers computed by the real local Whisper; a file over ``limit_bytes`` is 413."""

    def answer(request: dict[str, Any]) -> Reply:
        audio = _parts(request)["file"]
        if len(audio) > limit_bytes:
            return Reply(
                413,
                {
                    "error": {
                        "message": "Request Entity Too Large",
                        "type": "invalid_request_error",
                        "code": "request_too_large",
                    }
                },
            )
        result = transcriber.transcribe(audio, words=True)
        return Reply(200, {
            "task": "transcribe", "language": "english", "duration": result.duration, "text": result.text,
            "segments": [{"id": s.id, "seek": s.seek, "start": s.start, "end": s.end, "text": s.text, "tokens": s.tokens,
                          "temperature": 0.0, "avg_logprob": s.avg_logprob, "compression_ratio": s.compression_ratio,
                          "no_speech_prob": s.no_speech_prob} for s in result.segments],
            "words": [{"word": w.word, "start": w.start, "end": w.end} for s in result.segments for w in s.words],
        })  # fmt: skip

    return answer


def test_a_recording_too_large_for_the_server_is_sent_in_pieces_and_stitched_on_its_clock(
    groq, settings
) -> None:
    fake, endpoint = groq
    recording = speech(SENTENCES, gap_seconds=2.5)
    settings.TRANSCRIPTION_PIECE_SECONDS = 8
    settings.TRANSCRIPTION_OVERLAP_SECONDS = 2
    fake.reply(PATH, _whisper_stand_in(limit_bytes=len(recording.wav) // 2))
    result = transcribe(recording.wav, "all-hands.wav", endpoint=endpoint)

    first = _parts(fake.requests[0])
    assert first["model"] == "whisper-large-v3-turbo" and first["response_format"] == "verbose_json"
    assert first["timestamp_granularities[]"] == ["segment", "word"]
    pieces = fake.requests[1:]
    assert len(pieces) >= 3 and all(_parts(r)["file"][:4] == b"fLaC" for r in pieces)
    assert result.duration == pytest.approx(recording.duration, abs=0.2)
    # Every sentence once, in order, starting where it was said.
    for sentence, start in zip(SENTENCES, recording.starts, strict=True):
        key = sentence.split()[0].strip(",").lower()
        found = [s for s in result.segments if key in s.text.lower()]
        assert len(found) == 1, (key, [s.text for s in result.segments])
        assert abs(found[0].start - start) < 1.2, (key, found[0].start, start)
    assert [s.id for s in result.segments] == list(range(len(result.segments)))
    assert all(
        a.start <= b.start for a, b in zip(result.segments, result.segments[1:], strict=False)
    )
    assert all(a.start <= b.start for a, b in zip(result.words, result.words[1:], strict=False))


def test_a_rate_limit_waits_as_told_then_succeeds(groq, monkeypatch) -> None:
    fake, endpoint = groq
    waits: list[float] = []
    monkeypatch.setattr(transport, "sleep", waits.append)
    ok = {
        "text": "Hello.",
        "segments": [{"start": 0.0, "end": 1.0, "text": " Hello."}],
        "duration": 1.0,
    }
    fake.reply(
        PATH,
        Reply(429, {"error": {"message": "Rate limit reached", "type": "tokens", "code": "rate_limit_exceeded"}},
              headers={"retry-after": "2"}),
        Reply(200, ok),
    )  # fmt: skip
    result = transcribe(b"RIFF....WAVE", "a.wav", endpoint=endpoint)
    assert result.text == "Hello." and result.segments[0].end == 1.0
    assert 2.0 in waits and len(fake.requests) == 2


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, {"segments": "not a list"}),
        Reply(200, {"text": "x", "segments": [{"start": "soon", "end": 1, "text": "x"}]}),
        Reply(200, raw=b"<html>gateway</html>"),
    ],
)
def test_a_malformed_answer_is_a_clear_error(groq, reply) -> None:
    fake, endpoint = groq
    fake.reply(PATH, reply)
    with pytest.raises(ModelApiError) as caught:
        transcribe(b"RIFF....WAVE", "a.wav", endpoint=endpoint)
    assert caught.value.code == "bad_shape" or "invalid JSON" in str(caught.value)
    assert len(fake.requests) == 1  # not retried: it would answer the same


def test_a_413_on_bytes_that_are_not_audio_says_so(groq) -> None:
    fake, endpoint = groq
    fake.reply(
        PATH,
        Reply(
            413, {"error": {"message": "Request Entity Too Large", "type": "invalid_request_error"}}
        ),
    )
    with pytest.raises(ValueError, match="decoded|audio"):
        transcribe(b"\x00" * 5000, "broken.mp3", endpoint=endpoint)
    assert json.dumps(fake.requests[0]["headers"]).count("multipart/form-data") == 1


def test_a_sentence_across_a_seam_is_kept_whole_once_not_cut_at_its_start() -> None:
    from apps.modelapi.transcription import Transcription, stitch

    def part(*segments: tuple[float, float, str]) -> Transcription:
        return Transcription.model_validate(
            {"text": "", "segments": [{"start": a, "end": b, "text": t} for a, b, t in segments]}
        )

    # Piece A covers 0–600 s, piece B starts at 595 s (5 s of overlap; the seam at 597.5 s).
    a = part((580.0, 593.0, " Last item."), (593.0, 600.0, " and then we decided to"))
    b = part((0.0, 9.0, " then we decided to move the launch to May."), (9.5, 12.0, " Next."))
    result = stitch([(0.0, 600.0, a), (595.0, 20.0, b)])
    assert "move the launch to May" in result.text and result.text.endswith("Next.")
    # Both pieces heard the sentence across the seam: the fuller hearing stays, once.
    assert result.text.count("decided to") == 1
    assert [s.start for s in result.segments] == [580.0, 595.0, 604.5]
    # A sentence only one piece heard is never dropped for a neighbour.
    c = part((580.0, 596.0, " A long closing remark."))
    d = part((2.0, 9.0, " A new topic starts here."))
    joined = stitch([(0.0, 600.0, c), (595.0, 20.0, d)])
    assert [s.text.strip() for s in joined.segments] == [
        "A long closing remark.",
        "A new topic starts here.",
    ]
    # Whisper stretches a piece's last segment to its end: a different sentence at the same
    # time is not a repeat (time alone took it for one and dropped it).
    e = part((590.0, 600.0, " So we agreed on the plan."))
    f = part((1.5, 4.0, " Next is hiring."))
    both = stitch([(0.0, 600.0, e), (595.0, 20.0, f)])
    assert [s.text.strip() for s in both.segments] == [
        "So we agreed on the plan.",
        "Next is hiring.",
    ]
