"""``manage.py ingest PATH... --knowledge-base NAME``: import folders and files in bulk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.knowledge.bulk_import import import_paths, index_now, summary_lines
from apps.knowledge.models import KnowledgeBase


class Command(BaseCommand):
    help = (
        "Add every file under the given folders (recursively; ZIP archives expanded, hidden "
        "files skipped) to a knowledge base. Safe to run again: unchanged files are left "
        "alone, changed ones become new versions."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
        parser.add_argument("--knowledge-base", required=True, metavar="NAME")
        parser.add_argument(
            "--ingest-now",
            action="store_true",
            help="Index the new documents in this process instead of leaving them to the worker.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        knowledge_base = self.knowledge_base(options["knowledge_base"])
        paths: list[Path] = options["paths"]
        missing = [str(path) for path in paths if not path.exists()]
        if missing:
            raise CommandError(f"No such file or folder: {', '.join(missing)}.")
        report = import_paths(knowledge_base=knowledge_base, paths=paths, progress=self.progress)
        for line in summary_lines(report, knowledge_base):
            self.stdout.write(line)
        if options["ingest_now"]:
            outcomes = index_now(report, progress=self.progress)
            done = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
            self.stdout.write(f"Indexed now: {done or 'nothing was waiting'}.")
        elif report.queued:
            count = len(report.queued)
            self.stdout.write(
                f"{count} document{'s' if count != 1 else ''} queued: the worker indexes them "
                "(`make run` starts one), or --ingest-now indexes them in this command."
            )

    def knowledge_base(self, name: str) -> KnowledgeBase:
        knowledge_base = KnowledgeBase.objects.filter(name=name).first()
        if knowledge_base is None:
            names = ", ".join(
                f"'{n}'" for n in KnowledgeBase.objects.values_list("name", flat=True)
            )
            raise CommandError(
                f"There is no knowledge base named '{name}'. "
                + (f"The knowledge bases are: {names}." if names else "There are none yet.")
                + " Create it in the admin first."
            )
        return knowledge_base

    def progress(self, number: int, total: int, name: str, outcome: str) -> None:
        # Plain lines, flushed one by one: readable in a log file and without a TTY.
        width = len(str(total))
        self.stdout.write(f"[{number:>{width}}/{total}] {name} ... {outcome}")
        self.stdout.flush()
