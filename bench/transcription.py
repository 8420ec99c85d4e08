"""Speed and word error rate of the local Whisper (tiny.en, faster-whisper, int8, 2 threads)
on speech read by Debian's espeak-ng.

    .venv/bin/python bench/transcription.py [--repeats 3]

1. Word error rate, sentence by sentence: each of SENTENCES read alone, transcribed, and
   compared with the text (lower case, letters and digits; Levenshtein over words).
   espeak is a formant synthesiser, not a human voice: this says how well the model hears
   *espeak*, a lower bound on nothing and an upper bound on nothing for meetings.
2. Real-time factor: one recording of all sentences with 1.5 s pauses (about 90 s), timed
   ``--repeats`` times after a warm-up; RTF = seconds spent / seconds of audio.

Prints a table and writes bench/results/transcription.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qa_site.settings")

from apps.localmodels import transcriber  # noqa: E402
from tests.speech import speech  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "transcription.json"
SENTENCES = [
    "The quarterly budget review is on Thursday.",
    "Please send your numbers to Maria before noon.",
    "The new office opens in March.",
    "Laptops are replaced every thirty six months.",
    "Our customer churn fell by two percent last quarter.",
    "The incident started when the database ran out of disk space.",
    "We will hire three engineers for the platform team.",
    "Travel to conferences needs approval from your manager.",
    "The release is planned for the first week of June.",
    "Remember to rotate the access keys every ninety days.",
    "The support queue is answered within four hours.",
    "Security training is mandatory for every new employee.",
    "The marketing budget moves to the second half of the year.",
    "Invoices are paid at the end of each month.",
    "The guest network password changes every Monday.",
    "Backups are tested once a quarter by restoring them.",
    "The design review found two problems with the login page.",
    "Sales closed the largest contract in the company's history.",
    "The cafeteria is closed on public holidays.",
    "Questions about payroll go to the finance team.",
]


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("'", ""))


def edit_distance(a: list[str], b: list[str]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def word_error_rate() -> dict[str, Any]:
    errors = total = 0
    worst: list[dict[str, Any]] = []
    for sentence in SENTENCES:
        heard = transcriber.transcribe(speech([sentence]).wav).text
        distance = edit_distance(words(sentence), words(heard))
        errors += distance
        total += len(words(sentence))
        if distance:
            worst.append({"said": sentence, "heard": heard, "errors": distance})
    return {
        "sentences": len(SENTENCES),
        "words": total,
        "word_errors": errors,
        "wer": round(errors / total, 4),
        "misheard": worst,
    }


def real_time_factor(repeats: int) -> dict[str, Any]:
    recording = speech(SENTENCES, gap_seconds=1.5)
    transcriber.transcribe(recording.wav)  # warm-up: model load and first allocation
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = transcriber.transcribe(recording.wav)
        seconds.append(time.perf_counter() - started)
    best, median = min(seconds), sorted(seconds)[len(seconds) // 2]
    return {
        "audio_seconds": round(recording.duration, 2),
        "segments": len(result.segments),
        "runs_seconds": [round(s, 3) for s in seconds],
        "rtf_median": round(median / recording.duration, 4),
        "rtf_best": round(best / recording.duration, 4),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    started = time.perf_counter()
    model_load = time.perf_counter()
    transcriber._model()
    load_seconds = time.perf_counter() - model_load
    result = {
        "command": " ".join(sys.argv),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "model": transcriber.MODEL_NAME,
        "model_load_seconds": round(load_seconds, 2),
        "word_error_rate": word_error_rate(),
        "speed": real_time_factor(args.repeats),
    }
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    wer, speed = result["word_error_rate"], result["speed"]
    print(f"model {result['model']}: loaded in {result['model_load_seconds']} s")
    print(
        f"WER {wer['wer']:.1%} ({wer['word_errors']} errors in {wer['words']} words, {wer['sentences']} sentences)"
    )
    for miss in wer["misheard"]:
        print(f"   said  {miss['said']}\n   heard {miss['heard'].strip()}")
    print(
        f"{speed['audio_seconds']} s of audio: median {sorted(speed['runs_seconds'])[len(speed['runs_seconds']) // 2]} s, "
        f"RTF {speed['rtf_median']} (best {speed['rtf_best']}), load {speed['loadavg_1m']}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
