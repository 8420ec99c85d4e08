from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.knowledge.models import KnowledgeBase
from apps.sources.services import SiteSettings, SourceRejected, add_site_source


class Command(BaseCommand):
    help = (
        "Add a site source (a start page or a sitemap.xml) to a knowledge base and queue its "
        "first sync; a worker (`manage.py ingest_worker`) runs it, or `manage.py sync_sources`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = SiteSettings.defaults()
        parser.add_argument("url", help="start page or sitemap.xml URL")
        parser.add_argument("--knowledge-base", required=True, help="knowledge base name")
        parser.add_argument("--max-pages", type=int, default=defaults.max_pages)
        parser.add_argument("--max-depth", type=int, default=defaults.max_depth)
        parser.add_argument(
            "--every",
            type=int,
            default=defaults.every_hours,
            metavar="HOURS",
            help="re-sync interval in hours (0: only on request)",
        )
        parser.add_argument("--scope", default="", help="URL prefix (default: the URL's folder)")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["knowledge_base"]
        knowledge_base = KnowledgeBase.objects.filter(name=name).first()
        if knowledge_base is None:
            raise CommandError(f"No knowledge base is named {name!r}.")
        if options["every"] < 0 or options["max_depth"] < 0:
            raise CommandError("--every and --max-depth cannot be negative.")
        settings_ = SiteSettings(
            max_pages=options["max_pages"],
            max_depth=options["max_depth"],
            every_hours=options["every"],
            scope=options["scope"],
        )
        try:
            source = add_site_source(
                knowledge_base=knowledge_base, start_url=options["url"], options=settings_
            )
        except SourceRejected as exc:
            raise CommandError(str(exc)) from exc
        every = f"every {source.every_hours} h" if source.every_hours else "on request only"
        self.stdout.write(
            f"Added source {source.pk}: {source.start_url} (scope {source.scope}, at most "
            f"{source.max_pages} pages, depth {source.max_depth}, re-synced {every}); "
            "its first sync is queued."
        )
