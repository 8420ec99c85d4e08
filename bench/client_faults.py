"""Retry and latency overhead of the model-API client against the Groq stand-in.

    .venv/bin/python bench/client_faults.py [--repeat 20]

Prints a table and writes bench/results/client_faults.json. Not a test: figures only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qa_site.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from apps.modelapi.chat_stream import StreamedMessage, stream_chat_completion  # noqa: E402
from apps.modelapi.client import chat_completion, create_embeddings  # noqa: E402
from apps.modelapi.errors import ModelApiError  # noqa: E402
from apps.modelapi.transport import Endpoint  # noqa: E402
from tests.servers import Reply, fake_groq  # noqa: E402

OK_CHAT = {
    "id": "c",
    "model": "m",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
    ],
}
MESSAGES = [{"role": "user", "content": "q"}]


def _time(call) -> float:
    started = time.perf_counter()
    with contextlib.suppress(ModelApiError):
        call()
    return time.perf_counter() - started


def _chat(endpoint: Endpoint) -> None:
    chat_completion(MESSAGES, endpoint=endpoint)


def _stream(endpoint: Endpoint) -> None:
    message = StreamedMessage()
    for event in stream_chat_completion(MESSAGES, endpoint=endpoint):
        message.add(event)


def scenarios() -> list[tuple[str, list[Reply], str, object]]:
    err = lambda status, code=None: {"error": {"message": "x", "type": "t", "code": code}}  # noqa: E731
    stream = [
        {
            "id": "c",
            "choices": [{"index": 0, "delta": {"content": f"w{i} "}, "finish_reason": None}],
        }
        for i in range(200)
    ]
    return [
        ("baseline: one 200", [Reply(200, OK_CHAT)], "chat", _chat),
        (
            "one 429, retry-after: 1",
            [
                Reply(429, err(429, "rate_limit_exceeded"), {"retry-after": "1"}),
                Reply(200, OK_CHAT),
            ],
            "chat",
            _chat,
        ),
        (
            "one 429, retry-after-ms: 200",
            [Reply(429, err(429), {"retry-after-ms": "200"}), Reply(200, OK_CHAT)],
            "chat",
            _chat,
        ),
        (
            "one 503, no retry-after (backoff 0.25-0.5 s)",
            [Reply(503, err(503)), Reply(200, OK_CHAT)],
            "chat",
            _chat,
        ),
        ("503 on every attempt (3 tries, then error)", [Reply(503, err(503))], "chat", _chat),
        (
            "413 on embeddings: split 8 -> 4+4",
            [
                Reply(413, err(413, "rate_limit_exceeded")),
                Reply(200, {"data": [{"index": i, "embedding": [0.0]} for i in range(4)]}),
            ],
            "embeddings",
            lambda e: create_embeddings(["x"] * 8, endpoint=e),
        ),
        ("stream of 200 chunks", [Reply(stream=stream)], "chat", _stream),
        ("stream cut after 100 chunks", [Reply(stream=stream[:100], cut=True)], "chat", _stream),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    settings.MODEL_API_MAX_RETRIES = 2
    settings.EMBEDDING_BATCH_SIZE = 64
    rows = []
    for name, replies, kind, call in scenarios():
        timings = []
        for _ in range(args.repeat):
            with fake_groq() as fake:
                path = "chat/completions" if kind == "chat" else "embeddings"
                fake.reply(path, *replies)
                endpoint = Endpoint(fake.base_url, "k", "m")
                timings.append(_time(lambda: call(endpoint)))  # noqa: B023
                requests = len(fake.requests)
        rows.append(
            {
                "scenario": name,
                "requests": requests,
                "p50_ms": round(statistics.median(timings) * 1000, 1),
                "max_ms": round(max(timings) * 1000, 1),
            }
        )
    baseline = rows[0]["p50_ms"]
    for row in rows:
        row["added_ms"] = round(row["p50_ms"] - baseline, 1)
    print(f"{'scenario':48} {'requests':>8} {'p50 ms':>9} {'max ms':>9} {'added ms':>9}")
    for row in rows:
        print(
            f"{row['scenario']:48} {row['requests']:>8} {row['p50_ms']:>9} {row['max_ms']:>9} {row['added_ms']:>9}"
        )
    out = ROOT / "bench" / "results" / "client_faults.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"repeat": args.repeat, "rows": rows}, indent=2) + "\n")
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
