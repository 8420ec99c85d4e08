"""``manage.py backup [--output FILE]``: the database and the stored originals, in one file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.operations.backup import PROBLEMS, create_backup, default_backup_path


class Command(BaseCommand):
    help = (
        "Write a backup (database dump + stored originals) to one tar file; "
        "by default under BACKUP_DIR with the time in its name."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, default=None, help="The file to write.")

    def handle(self, *args: Any, **options: Any) -> None:
        destination = options["output"] or default_backup_path()
        try:
            result = create_backup(destination)
        except PROBLEMS as exc:
            raise CommandError(str(exc)) from exc
        megabytes = result.size_bytes / 1e6
        self.stderr.write(
            f"Backed up {result.counts.describe()} and {result.media_files} stored files "
            f"({megabytes:.1f} MB)."
        )
        self.stdout.write(str(result.path))
