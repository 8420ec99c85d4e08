"""Audio ingestion throughput: a recorded meeting through the whole pipeline (upload, decode
in the isolated child, transcription over HTTP by the local provider's Whisper, chunking,
embedding, storing), against the model alone on the same audio.

    .venv/bin/python bench/ingest_recordings.py [--minutes 10] [--pieces 600,120]

The meeting is espeak-ng reading bench/transcription.py's sentences in turn, 1.5 s apart,
until it lasts ``--minutes``; it is encoded as MP3 (what teams upload). Each ``--pieces``
value is a TRANSCRIPTION_PIECE_SECONDS to compare in the same run: the recording goes to
the server in pieces of that length (progress is reported once a piece). Stages are timed
from the document's own progress records. Writes bench/results/ingest_recordings.json.
Uses its own database (qa_bench) on the embedded server.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "ingest_recordings.json"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qa_site.settings")
os.environ["EMBEDDED_DB_NAME"] = "qa_bench"
os.environ.setdefault("APP_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402

from apps.knowledge.indexing import index_document  # noqa: E402
from apps.knowledge.models import Document, KnowledgeBase  # noqa: E402
from apps.knowledge.uploads import add_file_document  # noqa: E402
from apps.localmodels import transcriber  # noqa: E402
from bench.transcription import SENTENCES  # noqa: E402
from tests.servers import serve_app  # noqa: E402
from tests.speech import Speech, encoded, speech  # noqa: E402


def meeting(minutes: float) -> Speech:
    """Sentences in turn until the recording lasts ``minutes`` (estimated, then made)."""
    one_round = speech(SENTENCES, gap_seconds=1.5).duration
    rounds = max(1, round(minutes * 60 / one_round))
    return speech(SENTENCES * rounds, gap_seconds=1.5)


def raw_transcription(wav: bytes, seconds: float) -> dict[str, Any]:
    transcriber.transcribe(speech(SENTENCES[:2]).wav)  # load the model first
    started = time.perf_counter()
    result = transcriber.transcribe(wav)
    spent = time.perf_counter() - started
    return {
        "seconds": round(spent, 2),
        "rtf": round(spent / seconds, 4),
        "segments": len(result.segments),
    }


def pipeline(data: bytes, seconds: float, *, piece_seconds: int) -> dict[str, Any]:
    owner, _ = User.objects.get_or_create(username="bench")
    KnowledgeBase.objects.filter(name="bench-recordings").delete()
    base = KnowledgeBase.objects.create(name="bench-recordings", owner=owner)
    settings.TRANSCRIPTION_PIECE_SECONDS = piece_seconds
    marks: list[tuple[str, float]] = []
    original = Document.set_progress

    def timed(self: Document, stage: str, done: int = 0, total: int = 0) -> None:
        marks.append((stage, time.perf_counter()))
        original(self, stage, done, total)

    Document.set_progress = timed  # type: ignore[method-assign]
    try:
        document = add_file_document(knowledge_base=base, filename="meeting.mp3", data=data)
        started = time.perf_counter()
        outcome = index_document(document_id=document.pk).outcome
        total = time.perf_counter() - started
    finally:
        Document.set_progress = original  # type: ignore[method-assign]
    document.refresh_from_db()
    stages = _stage_seconds(marks, started + total)
    KnowledgeBase.objects.filter(pk=base.pk).delete()
    return {
        "piece_seconds": piece_seconds,
        "outcome": outcome,
        "error": document.error,
        "chunks": document.chunk_count,
        "total_seconds": round(total, 2),
        "rtf": round(total / seconds, 4),
        "audio_minutes_per_minute": round(seconds / total, 1),
        "stages_seconds": stages,
    }


def _stage_seconds(marks: list[tuple[str, float]], end: float) -> dict[str, float]:
    """Time from each stage's first record to the next stage's first record."""
    firsts: list[tuple[str, float]] = []
    for stage, at in marks:
        if not firsts or firsts[-1][0] != stage:
            firsts.append((stage, at))
    bounds = [at for _, at in firsts[1:]] + [end]
    return {stage: round(stop - at, 2) for (stage, at), stop in zip(firsts, bounds, strict=True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--pieces", default="600,120")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    recording = meeting(args.minutes)
    data = encoded(recording.wav, "mp3")
    print(
        f"meeting: {recording.duration / 60:.1f} min of espeak speech, {len(data) / 1e6:.1f} MB MP3"
    )
    raw = raw_transcription(recording.wav, recording.duration)
    print(f"model alone (in process, WAV): {raw['seconds']} s, RTF {raw['rtf']}")
    runs = []
    with serve_app() as url:
        settings.TRANSCRIPTION_BASE_URL = settings.EMBEDDINGS_BASE_URL = f"{url}/local/v1"
        warm = encoded(speech(SENTENCES[:2]).wav, "mp3")  # load both models, not timed
        pipeline(warm, 5.0, piece_seconds=600)
        for piece in (int(p) for p in args.pieces.split(",")):
            run = pipeline(data, recording.duration, piece_seconds=piece)
            runs.append(run)
            stages = ", ".join(f"{k} {v} s" for k, v in run["stages_seconds"].items())
            print(
                f"pipeline, pieces of {piece} s: {run['outcome']}, {run['chunks']} passages in "
                f"{run['total_seconds']} s, RTF {run['rtf']} ({run['audio_minutes_per_minute']} min of "
                f"audio a minute); {stages}"
            )
    result = {
        "command": " ".join(sys.argv),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "audio_seconds": round(recording.duration, 1),
        "mp3_bytes": len(data),
        "model_alone": raw,
        "pipeline": runs,
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
