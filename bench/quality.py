"""Retrieval quality on a BEIR data set with the local provider: `manage.py evaluate`, served.

    .venv/bin/python bench/quality.py [--dataset ../shared/data/scifact] [--keep] [--workers 2]

Serves the app in-process on a loopback port, points embeddings and reranking at its local
provider over HTTP, and runs the `evaluate` command on its own database (bench_quality), so
nothing else needs to be running. Writes bench/results/quality.json.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qa_site.settings")
os.environ.setdefault("EMBEDDED_DB_NAME", "bench_quality")
os.environ.setdefault("APP_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from tests.servers import serve_app  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", type=Path, default=ROOT.parent / "shared/data/scifact")
    parser.add_argument("--keep", action="store_true", help="keep the indexed base for reruns")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", type=Path, default=ROOT / "bench/results/quality.json")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    with serve_app() as url:
        settings.EMBEDDINGS_BASE_URL = settings.RERANK_BASE_URL = f"{url}/local/v1"
        settings.EMBEDDINGS_API_KEY = settings.RERANK_API_KEY = ""
        settings.EMBEDDING_MODEL, settings.RERANK_MODEL = "all-MiniLM-L6-v2", "local-rerank"
        options = ["--dataset", str(args.dataset), "--workers", str(args.workers)]
        options += ["--output", str(args.output)] + (["--keep"] if args.keep else [])
        call_command("evaluate", *options)


if __name__ == "__main__":
    main()
