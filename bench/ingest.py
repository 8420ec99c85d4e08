"""Ingestion throughput with the local provider, against the raw embedding model.

    .venv/bin/python bench/ingest.py [--docs 2000] [--mb 10] [--scale-docs 600]

1. Generates a mixed corpus (Markdown, text, HTML, CSV, JSON) of --docs documents, ~--mb MB.
2. raw: the same chunks embedded by the model in-process (no HTTP, no database).
3. pipeline: upload + one `ingest_worker` process (extract in a child process, chunk, embed
   over HTTP through the local provider, store in Postgres), until every document is ready.
4. scaling: one vs two workers on --scale-docs documents against a fast fake embedding
   server, so that the pipeline (not the model) is what is measured.

Writes bench/results/ingest.json.

    .venv/bin/python bench/ingest.py --formats [--per-format 20] [--ocr-docs 6]

instead measures each format (docx, pdf, html, md, csv, xlsx, pptx, eml, and OCR of scans:
PNG and image-only PDFs) on its own, extraction and the whole pipeline, and writes
bench/results/ingest_formats.json (see bench/ingest_formats.py). Uses its own database (qa_bench) on the embedded server.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import struct
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "ingest.json"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qa_site.settings")
os.environ["EMBEDDED_DB_NAME"] = "qa_bench"
os.environ.setdefault("APP_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402

from apps.knowledge.chunking import chunk_text  # noqa: E402
from apps.knowledge.embedding import embedding_input  # noqa: E402
from apps.knowledge.extract import extract  # noqa: E402
from apps.knowledge.models import Chunk, Document, KnowledgeBase  # noqa: E402
from apps.knowledge.uploads import add_upload, validate_upload  # noqa: E402
from tests.servers import serve_app  # noqa: E402

WORDS = [
    "policy",
    "laptop",
    "travel",
    "hotel",
    "expense",
    "incident",
    "severity",
    "backup",
    "restore",
    "network",
    "guest",
    "office",
    "desk",
    "meeting",
    "budget",
    "leave",
    "parental",
    "holiday",
    "security",
    "password",
    "device",
    "encryption",
    "report",
    "deploy",
    "rollback",
    "postmortem",
    "customer",
    "support",
    "plan",
    "storage",
    "sync",
    "version",
    "release",
    "team",
    "manager",
    "onboarding",
    "buddy",
    "contract",
    "invoice",
    "payment",
    "approval",
    "vendor",
    "license",
    "audit",
    "training",
    "course",
]


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 18))]
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(3, 7)))


def make_document(i: int, size: int, rng: random.Random) -> tuple[str, bytes]:
    kind = ("md", "txt", "html", "csv", "json")[i % 5]
    paragraphs: list[str] = []
    while sum(len(p) for p in paragraphs) < size:
        paragraphs.append(paragraph(rng))
    if kind == "md":
        body = "\n\n".join(
            f"## Section {n}\n\n{p}" if n % 3 == 0 else p for n, p in enumerate(paragraphs)
        )
        return f"doc{i}.md", f"# Document {i}\n\n{body}".encode()
    if kind == "txt":
        return f"doc{i}.txt", "\n\n".join(paragraphs).encode()
    if kind == "html":
        body = "".join(f"<h2>Part {n}</h2><p>{p}</p>" for n, p in enumerate(paragraphs))
        return (
            f"doc{i}.html",
            f"<html><head><title>Doc {i}</title></head><body>{body}</body></html>".encode(),
        )
    if kind == "csv":
        rows = "\n".join(f'{n},"{p}"' for n, p in enumerate(paragraphs))
        return f"doc{i}.csv", f"row,text\n{rows}\n".encode()
    items = [{"id": n, "title": f"Entry {n}", "body": p} for n, p in enumerate(paragraphs)]
    return f"doc{i}.json", json.dumps(items).encode()


def corpus(docs: int, megabytes: float, seed: int = 7) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    average = int(megabytes * 1024 * 1024 / docs)
    return [make_document(i, rng.randint(average // 2, average * 3 // 2), rng) for i in range(docs)]


def fresh_base(name: str) -> KnowledgeBase:
    owner, _ = User.objects.get_or_create(username="bench")
    KnowledgeBase.objects.filter(name=name).delete()
    return KnowledgeBase.objects.create(name=name, owner=owner)


def run_workers(count: int, env: dict[str, str]) -> float:
    # Production-like workers: DEBUG off (no query log), a throwaway secret for the run.
    env = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "bench-only-" + "x" * 40, **env}
    started = time.perf_counter()
    command = [
        sys.executable,
        "manage.py",
        "ingest_worker",
        "--no-reload",
        "--batch",
        "--no-startup-delay",
    ]
    processes = [
        subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    for process in processes:
        process.wait()
    return time.perf_counter() - started


def raw_embedding(files: list[tuple[str, bytes]]) -> dict[str, float]:
    from apps.localmodels.embedder import embed_texts

    inputs: list[str] = []
    for name, data in files:
        mime = validate_upload(data=data, filename=name)
        for draft in chunk_text(
            extract(data, mime),
            target_tokens=settings.CHUNK_TARGET_TOKENS,
            overlap_tokens=settings.CHUNK_OVERLAP_TOKENS,
        ):
            inputs.append(embedding_input(title=name, heading=draft.heading, text=draft.text))
    embed_texts(inputs[:64])  # load the model before timing
    started = time.perf_counter()
    for start in range(0, len(inputs), settings.EMBEDDING_BATCH_SIZE):
        embed_texts(inputs[start : start + settings.EMBEDDING_BATCH_SIZE])
    seconds = time.perf_counter() - started
    return {
        "chunks": len(inputs),
        "seconds": round(seconds, 2),
        "chunks_per_s": round(len(inputs) / seconds, 1),
    }


def pipeline(
    files: list[tuple[str, bytes]], *, workers: int, env: dict[str, str], name: str
) -> dict[str, float]:
    kb = fresh_base(name)
    for filename, data in files:
        add_upload(knowledge_base=kb, filename=filename, data=data)
    seconds = run_workers(workers, env)
    ready = Document.objects.filter(knowledge_base=kb, status=Document.Status.READY).count()
    failed = Document.objects.filter(knowledge_base=kb, status=Document.Status.FAILED).count()
    chunks = Chunk.objects.filter(knowledge_base=kb).count()
    return {
        "workers": workers,
        "documents": len(files),
        "ready": ready,
        "failed": failed,
        "chunks": chunks,
        "seconds": round(seconds, 2),
        "docs_per_s": round(ready / seconds, 1),
        "chunks_per_s": round(chunks / seconds, 1),
    }


class _FastEmbeddings(BaseHTTPRequestHandler):
    vector = base64.b64encode(struct.pack("<384f", *([0.05] * 384))).decode()

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        count = len(body["input"]) if isinstance(body["input"], list) else 1
        data = ",".join(
            f'{{"object":"embedding","index":{i},"embedding":"{self.vector}"}}'
            for i in range(count)
        )
        payload = f'{{"object":"list","data":[{data}],"model":"all-MiniLM-L6-v2"}}'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def fake_pipeline(files: list[tuple[str, bytes]]) -> tuple[dict[str, float], dict[str, float]]:
    """One and two workers against an instant embedding server: the pipeline's own cost."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FastEmbeddings)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake_env = {
        "EMBEDDED_DB_NAME": "qa_bench",
        "EMBEDDINGS_BASE_URL": f"http://127.0.0.1:{server.server_address[1]}/v1",
        "APP_LOG_LEVEL": "WARNING",
    }
    try:
        one = pipeline(files, workers=1, env=fake_env, name="bench-fake-1")
        two = pipeline(files, workers=2, env=fake_env, name="bench-fake-2")
    finally:
        server.shutdown()
    return one, two


def fake_only(args: argparse.Namespace) -> None:
    call_command("migrate", verbosity=0)
    files = corpus(args.docs, args.mb)[: args.scale_docs]
    one, two = fake_pipeline(files)
    for name in ("bench-fake-1", "bench-fake-2"):
        KnowledgeBase.objects.filter(name=name).delete()
    print(
        f"fast fake embeddings ({len(files)} documents): 1 worker {one['chunks']} chunks in "
        f"{one['seconds']} s = {one['chunks_per_s']} chunks/s; 2 workers {two['seconds']} s = "
        f"{two['chunks_per_s']} chunks/s"
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {"fake_embeddings_one_worker": one, "fake_embeddings_two_workers": two}, indent=2
        )
        + "\n"
    )


def per_format(args: argparse.Namespace) -> None:
    from bench.ingest_formats import run

    call_command("migrate", verbosity=0)
    output = args.output if args.output != RESULTS else RESULTS.with_name("ingest_formats.json")
    with serve_app() as url:
        settings.EMBEDDINGS_BASE_URL = f"{url}/local/v1"
        settings.EMBEDDINGS_API_KEY = ""
        result = run(per_format=args.per_format, ocr_docs=args.ocr_docs, fresh_base=fresh_base)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {output}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--mb", type=float, default=10.0)
    parser.add_argument("--scale-docs", type=int, default=600)
    parser.add_argument(
        "--fake-only",
        action="store_true",
        help="only the pipeline's own cost (fast fake embeddings), e.g. to compare two versions",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--formats", action="store_true", help="throughput per format and OCR pages per second"
    )
    parser.add_argument("--per-format", type=int, default=20)
    parser.add_argument("--ocr-docs", type=int, default=6)
    args = parser.parse_args()
    if args.formats:
        per_format(args)
        return
    if args.fake_only:
        fake_only(args)
        return
    call_command("migrate", verbosity=0)
    files = corpus(args.docs, args.mb)
    total_bytes = sum(len(d) for _, d in files)
    print(f"corpus: {len(files)} documents, {total_bytes / 1e6:.1f} MB")

    raw = raw_embedding(files)
    print(
        f"raw model embedding:   {raw['chunks']} chunks in {raw['seconds']} s = {raw['chunks_per_s']} chunks/s"
    )

    with serve_app() as url:
        env = {
            "EMBEDDED_DB_NAME": "qa_bench",
            "EMBEDDINGS_BASE_URL": f"{url}/local/v1",
            "APP_LOG_LEVEL": "WARNING",
        }
        one = pipeline(files, workers=1, env=env, name="bench-local")
        two_local = pipeline(files, workers=2, env=env, name="bench-local-2")
    ratio = one["chunks_per_s"] / raw["chunks_per_s"]
    ratio_two = two_local["chunks_per_s"] / raw["chunks_per_s"]
    for label, run, share in (("1 worker", one, ratio), ("2 workers", two_local, ratio_two)):
        print(
            f"pipeline, {label}:   {run['ready']}/{run['documents']} ready, {run['chunks']} chunks in {run['seconds']} s"
            f" = {run['docs_per_s']} docs/s, {run['chunks_per_s']} chunks/s ({share:.0%} of raw)"
        )

    scale_one, scale_two = fake_pipeline(files[: args.scale_docs])
    speedup = scale_one["seconds"] / scale_two["seconds"]
    print(
        f"fast fake embeddings:  1 worker {scale_one['docs_per_s']} docs/s, 2 workers {scale_two['docs_per_s']} docs/s = {speedup:.2f}x"
    )

    for name in ("bench-local", "bench-local-2", "bench-fake-1", "bench-fake-2"):
        KnowledgeBase.objects.filter(name=name).delete()
    result = {
        "corpus": {"documents": len(files), "bytes": total_bytes},
        "raw_embedding": raw,
        "pipeline_local_provider": one,
        "pipeline_vs_raw": round(ratio, 3),
        "pipeline_local_provider_two_workers": two_local,
        "pipeline_two_workers_vs_raw": round(ratio_two, 3),
        "fake_embeddings_one_worker": scale_one,
        "fake_embeddings_two_workers": scale_two,
        "two_worker_speedup": round(speedup, 2),
        "machine": f"{os.cpu_count()} cores",
    }
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {args.output}")


if __name__ == "__main__":
    main()
