"""Recordings as knowledge: audio and video, typed from their content, decoded in the
isolated child, transcribed by the real local Whisper over HTTP, and stored as passages
that know when they are said. Speech is espeak-ng's (real words at known seconds)."""

from __future__ import annotations

import io
import struct
import wave
from typing import Any

import numpy as np
import pytest

from apps.knowledge.extract import detect_mime_type
from apps.knowledge.indexing import index_document
from apps.knowledge.mediakind import clock, detect_media
from apps.knowledge.models import Document, KnowledgeBase
from apps.knowledge.uploads import UploadRejected, add_file_document, validate_upload
from apps.modelapi.audio import encode_flac
from tests.servers import Reply, fake_groq
from tests.speech import Speech, encoded, speech

pytestmark = pytest.mark.django_db

SENTENCES = [
    "Welcome to the weekly planning meeting.",
    "The laptop budget for new staff is twelve hundred euros.",
    "The office in Lisbon opens in March.",
]


@pytest.fixture(scope="module")
def meeting() -> Speech:
    return speech(SENTENCES, gap_seconds=2.0)


@pytest.fixture
def short_passages(settings) -> None:
    """One sentence a passage, so that each has its own time."""
    settings.CHUNK_TARGET_TOKENS = 12
    settings.CHUNK_OVERLAP_TOKENS = 0


def _wav(samples: np.ndarray, rate: int = 16_000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


def _index(kb: KnowledgeBase, name: str, data: bytes) -> Document:
    document = add_file_document(knowledge_base=kb, filename=name, data=data)
    index_document(document_id=document.pk)
    document.refresh_from_db()
    return document


def _said_at(document: Document, words: str) -> tuple[float, float]:
    chunk = next(c for c in document.chunks.all() if words in c.text.lower())
    assert chunk.start_seconds is not None and chunk.end_seconds is not None
    return chunk.start_seconds, chunk.end_seconds


def test_a_recorded_meeting_becomes_passages_that_know_when_they_are_said(
    knowledge_base, meeting, short_passages
) -> None:
    document = _index(knowledge_base, "weekly-sync.wav", meeting.wav)

    assert document.status == Document.Status.READY, document.error
    assert document.mime_type == "audio/wav" and document.is_recording
    assert "lisbon" in document.content.lower() and "laptop" in document.content.lower()
    for words, said in (("lisbon", meeting.starts[2]), ("laptop", meeting.starts[1])):
        start, end = _said_at(document, words)
        assert abs(start - said) < 1.0 and end > start
    # The transcript's segments keep their spans and seconds, for the viewer.
    spans = document.content_times
    assert spans and all(document.content[s:e].strip() for s, e, _, _ in spans)
    assert [round(t[2]) for t in spans] == sorted(round(t[2]) for t in spans)
    assert document.file  # the original is kept for playback


@pytest.mark.parametrize(
    ("kind", "mime_type"),
    [
        ("mp3", "audio/mpeg"),
        ("m4a", "audio/mp4"),
        ("ogg", "audio/ogg"),
        ("webm", "video/webm"),
        ("mov", "video/quicktime"),
        ("mp4", "video/mp4"),
    ],
)
def test_each_recording_type_is_known_by_its_content_and_transcribed(
    knowledge_base, meeting, short_passages, kind, mime_type
) -> None:
    data = encoded(meeting.wav, kind)
    assert detect_mime_type(data, "no-extension") == mime_type
    document = _index(knowledge_base, f"meeting.{kind}", data)
    assert document.status == Document.Status.READY, document.error
    assert "lisbon" in document.content.lower()
    start, _ = _said_at(document, "lisbon")
    assert abs(start - meeting.starts[2]) < 1.5


def test_an_mp3_without_its_id3_tag_is_known_by_its_first_frame(meeting) -> None:
    tagged = encoded(meeting.wav, "mp3")
    assert tagged.startswith(b"ID3")
    # The tag's size: four "synchsafe" bytes of 7 bits each.
    size = (
        (tagged[6] & 0x7F) << 21
        | (tagged[7] & 0x7F) << 14
        | (tagged[8] & 0x7F) << 7
        | (tagged[9] & 0x7F)
    )
    bare = tagged[10 + size :]
    assert bare[0] == 0xFF and detect_mime_type(bare, "recording") == "audio/mpeg"


def test_text_that_starts_like_a_frame_header_is_not_taken_for_audio() -> None:
    for text in ("Meeting notes: the budget.", "Ein Text über Grüße."):
        utf16 = text.encode("utf-16")  # FF FE, like an MPEG sync word
        assert detect_media(utf16) is None
        assert detect_mime_type(utf16, "notes.txt") == "text/plain"
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
    assert detect_media(heic) is None


def test_a_long_recording_goes_in_pieces_and_shows_minutes_transcribed(
    knowledge_base, settings, short_passages, monkeypatch
) -> None:
    settings.TRANSCRIPTION_PIECE_SECONDS = 10
    settings.TRANSCRIPTION_OVERLAP_SECONDS = 2
    talk = speech(
        [
            "First, the budget.",
            "Second, the hiring plan.",
            "Third, the office move.",
            "Fourth, the travel policy.",
            "Finally, questions.",
        ],
        gap_seconds=3.0,
    )
    seen: list[tuple[str, int, int]] = []
    original = Document.set_progress

    def recording(self: Document, stage: str, done: int = 0, total: int = 0) -> None:
        seen.append((stage, done, total))
        original(self, stage, done, total)

    monkeypatch.setattr(Document, "set_progress", recording)
    document = _index(knowledge_base, "talk.wav", talk.wav)

    assert document.status == Document.Status.READY, document.error
    transcribing = [(d, t) for s, d, t in seen if s == Document.Stage.TRANSCRIBING]
    assert len(transcribing) >= 3  # the start, then once per piece
    assert transcribing[0] == (0, round(talk.duration))
    assert transcribing[-1] == (round(talk.duration), round(talk.duration))
    assert [d for d, _ in transcribing] == sorted(d for d, _ in transcribing)
    text = document.content.lower()
    for word, said in zip(("budget", "hiring", "office", "travel"), talk.starts, strict=False):
        assert text.count(word) == 1, text  # no sentence twice across a seam, none lost
        start, _ = _said_at(document, word)
        assert start - 1.5 < said, (word, start, said)


def test_progress_note_counts_minutes_of_a_recording() -> None:
    document = Document(stage=Document.Stage.TRANSCRIBING, progress_done=720, progress_total=2700)
    assert document.progress_note == "12 of 45 min"
    assert Document(stage=Document.Stage.EMBEDDING, progress_total=9).progress_note == ""


def test_a_silent_recording_fails_with_no_usable_speech(knowledge_base) -> None:
    document = _index(knowledge_base, "muted.wav", _wav(np.zeros(16_000 * 20)))
    assert document.status == Document.Status.FAILED
    assert "No usable speech" in document.error or "No speech" in document.error


def test_a_video_without_an_audio_track_fails_with_that_reason(knowledge_base, meeting) -> None:
    document = _index(knowledge_base, "screen.mp4", encoded(meeting.wav, "mp4", audio=False))
    assert document.status == Document.Status.FAILED
    assert document.error == "The video has no audio track; there is nothing to transcribe."


def test_a_corrupt_recording_fails_that_document_with_a_reason(knowledge_base, meeting) -> None:
    junk = np.random.default_rng(7).integers(0, 256, 40_000, dtype=np.uint8).tobytes()
    broken = _index(knowledge_base, "broken.wav", b"RIFF\x00\x10\x00\x00WAVE" + junk)
    assert broken.status == Document.Status.FAILED
    assert broken.error.startswith(("The recording could not be decoded", "The file has no audio"))
    mp3 = encoded(meeting.wav, "mp3")
    cut = _index(knowledge_base, "cut.mp3", mp3[: len(mp3) // 3] + junk)
    # A recording damaged part way is read as far as it goes, or fails with the reason.
    assert cut.status in (Document.Status.READY, Document.Status.FAILED)
    assert cut.status == Document.Status.READY or "damaged" in cut.error or "speech" in cut.error


def _flac_claiming(seconds: int) -> bytes:
    """Two seconds of sound whose FLAC header claims ``seconds``."""
    noise = np.random.default_rng(0).normal(0, 2000, 16_000 * 2).astype(np.int16)
    data = bytearray(encode_flac(noise))
    (packed,) = struct.unpack(">Q", data[18:26])  # rate, channels, depth, total samples
    packed = (packed & ~((1 << 36) - 1)) | (16_000 * seconds)
    data[18:26] = struct.pack(">Q", packed)
    return bytes(data)


def test_a_file_claiming_hours_in_a_few_bytes_fails_with_what_it_holds(knowledge_base) -> None:
    document = _index(knowledge_base, "claims.flac", _flac_claiming(3 * 3600))
    assert document.status == Document.Status.FAILED
    assert document.error == (
        "The file claims 3:00:00 of audio but holds only 0:02: it is truncated or damaged."
    )


def test_a_recording_longer_than_the_limit_fails_before_transcription(
    knowledge_base, meeting, settings
) -> None:
    settings.RECORDING_MAX_SECONDS = 5
    document = _index(knowledge_base, "long.wav", meeting.wav)
    assert document.status == Document.Status.FAILED
    assert document.error == f"The recording is {clock(meeting.duration)} long; the limit is 0:05."
    assert not document.chunks.exists()


def test_recordings_have_their_own_upload_size_limit(settings, meeting) -> None:
    settings.MAX_UPLOAD_BYTES = 1000
    settings.RECORDING_MAX_UPLOAD_BYTES = len(meeting.wav) + 10
    assert validate_upload(data=meeting.wav, filename="sync.wav") == "audio/wav"
    with pytest.raises(UploadRejected, match="the limit is 1,000 bytes"):
        validate_upload(data=b"plain words " * 100, filename="notes.txt")
    settings.RECORDING_MAX_UPLOAD_BYTES = 2000
    with pytest.raises(UploadRejected, match="the limit is 2,000 bytes"):
        validate_upload(data=meeting.wav, filename="sync.wav")


def _unavailable(*_: Any) -> Reply:
    return Reply(503, {"error": {"message": "over capacity", "type": "server_error"}})


def test_a_failing_transcription_server_schedules_a_retry_then_fails_clearly(
    knowledge_base, meeting, settings
) -> None:
    settings.MODEL_API_MAX_RETRIES = 0
    settings.INGEST_MAX_ATTEMPTS = 2
    with fake_groq() as groq:
        groq.reply("audio/transcriptions", _unavailable)
        settings.TRANSCRIPTION_BASE_URL = groq.base_url
        document = _index(knowledge_base, "sync.wav", meeting.wav)
        assert document.status == Document.Status.QUEUED, document.error
        assert document.error.startswith("Will retry in")
        index_document(document_id=document.pk)
        document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert document.error.startswith("Transcription failed:")
    assert any(r["path"].endswith("/audio/transcriptions") for r in groq.requests)


def _with_latin1_title(wav: bytes) -> bytes:
    """The WAV with a LIST/INFO title in Latin-1, as old recorders write it."""
    title = "R\xe9union d'\xe9quipe".encode("latin-1") + b"\x00\x00"  # even: RIFF pads chunks
    info = b"INFO" + b"INAM" + struct.pack("<I", len(title)) + title
    chunk = b"LIST" + struct.pack("<I", len(info)) + info
    body = wav[12:36] + chunk + wav[36:]  # after "fmt ", before "data"
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WAVE" + body


def test_a_tag_in_latin1_is_no_reason_to_fail(knowledge_base, meeting) -> None:
    document = _index(knowledge_base, "reunion.wav", _with_latin1_title(meeting.wav))
    assert document.status == Document.Status.READY, document.error
    assert "lisbon" in document.content.lower()


def test_recordings_spliced_at_another_sample_rate_are_read_on(knowledge_base, meeting) -> None:
    tone = (3000 * np.sin(np.arange(16_000 * 3) * 2 * np.pi * 220 / 16_000)).astype(np.int16)
    spliced = encoded(meeting.wav, "mp3") + encoded(_wav(tone, 16_000), "mp3")
    document = _index(knowledge_base, "spliced.mp3", spliced)
    assert document.status == Document.Status.READY, document.error
    assert "lisbon" in document.content.lower()


def test_a_note_about_id3_tags_stays_text() -> None:
    note = b"ID3 tag fields, a cheat sheet\n\nTitle, artist, album.\n"
    assert detect_mime_type(note, "id3-notes.md") == "text/markdown"


def test_the_upload_form_takes_a_recording_over_the_file_limit(knowledge_base, settings, meeting):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.knowledge.uploads import add_batch

    settings.MAX_UPLOAD_BYTES = 1000
    outcomes = add_batch(
        knowledge_base=knowledge_base,
        files=[SimpleUploadedFile("sync.wav", meeting.wav)],
        urls=[],
    )
    assert [o.error for o in outcomes] == [""]
    assert outcomes[0].document is not None
