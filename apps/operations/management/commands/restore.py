"""``manage.py restore FILE [--force]``: replace the database and originals from a backup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.operations.backup import PROBLEMS, restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup written by `manage.py backup`: the database is replaced in one "
        "transaction, the stored originals are put back, then migrations run. Stop the web "
        "server and the worker first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace a database that already holds users, documents or conversations.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = restore_backup(options["file"], force=options["force"])
        except PROBLEMS as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Restored the backup of {result.created_at}: {result.counts.describe()} "
            f"and {result.media_files} stored files."
        )
