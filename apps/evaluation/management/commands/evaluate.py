from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.evaluation.beir import DatasetError, load_beir
from apps.evaluation.errors import EvaluationError
from apps.evaluation.progress import Reporter
from apps.evaluation.report import format_table
from apps.evaluation.runner import DEFAULT_DEPTH, evaluate
from apps.modelapi.errors import ModelApiError


class Command(BaseCommand):
    help = (
        "Retrieval quality on a BEIR data set (corpus.jsonl, queries.jsonl, qrels/<split>.tsv): "
        "indexes it into a throwaway knowledge base through the normal pipeline and the "
        "configured embeddings server, runs every judged query through the app's retrieval "
        "(vector, text, hybrid, hybrid + reranking) and BM25 / exact-cosine baselines, and "
        "prints nDCG@10, Recall@10, Recall@100 and MRR@10. The model servers must be up "
        "(with the local provider: the app running, or bench/quality.py, which serves it)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset", required=True, type=Path, help="BEIR folder")
        parser.add_argument("--split", default="test", help="qrels file name (default: test)")
        parser.add_argument(
            "--keep",
            action="store_true",
            help="keep the indexed base; a later run on the same corpus reuses it",
        )
        parser.add_argument(
            "--workers", type=int, default=2, help="documents indexed at once (default: 2)"
        )
        parser.add_argument(
            "--depth",
            type=int,
            default=DEFAULT_DEPTH,
            help=f"chunks retrieved per query before grouping by document (default: {DEFAULT_DEPTH})",
        )
        parser.add_argument("--output", type=Path, help="write the report as JSON here")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            dataset = load_beir(options["dataset"], split=options["split"])
        except DatasetError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(
            f"{dataset.name}: {len(dataset.corpus)} documents, {len(dataset.queries)} judged queries"
        )
        try:
            report = evaluate(
                dataset,
                keep=options["keep"],
                workers=max(1, options["workers"]),
                depth=options["depth"],
                progress=Reporter(
                    write=lambda text: self.stderr.write(text, ending=""),
                    tty=self.stderr.isatty(),
                ),
            )
        except ModelApiError as exc:
            raise CommandError(f"model server: {exc.user_message} ({exc})") from exc
        except EvaluationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(format_table(report))
        kb = report.knowledge_base
        self.stdout.write(
            f"{kb['chunks']} chunks; {kb['ingested_documents']} documents indexed in "
            f"{kb['ingest_seconds']} s ({'reused base' if kb['reused'] else 'new base'}, "
            f"{'kept' if kb['kept'] else 'deleted'})"
        )
        if options["output"]:
            data = {**report.to_json(), "command": shlex.join(sys.argv)}
            options["output"].parent.mkdir(parents=True, exist_ok=True)
            options["output"].write_text(json.dumps(data, indent=2) + "\n")
            self.stdout.write(f"written {options['output']}")
