from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.sources.models import SiteSource
from apps.sources.scheduling import adopt_single_pages
from apps.sources.sync import run_sync


class Command(BaseCommand):
    help = (
        "Sync site sources now, in the foreground, printing what changed (all of them, or "
        "--source ID). Changed pages are queued for indexing by the worker. Single URL "
        "documents join the schedule first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", type=int, help="the id of one source")

    def handle(self, *args: Any, **options: Any) -> None:
        adopted = adopt_single_pages()
        if adopted:
            self.stdout.write(f"{adopted} single page(s) joined the re-sync schedule.")
        sources = SiteSource.objects.order_by("pk")
        if options["source"] is not None:
            sources = sources.filter(pk=options["source"])
            if not sources.exists():
                raise CommandError(f"No source has the id {options['source']}.")
        failed = 0
        for source_id, url in sources.values_list("pk", "start_url"):
            report = run_sync(source_id=source_id, mode="now")
            self.stdout.write(f"Source {source_id} {url}: {report.summary()}")
            for line in report.error_text().splitlines():
                self.stdout.write(f"  {line}")
            failed += report.outcome == "failed"
        if failed:
            raise CommandError(f"{failed} sync(s) failed.")
