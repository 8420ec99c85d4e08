from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.knowledge.models import KnowledgeBase
from apps.knowledge.reembed import needs_reembedding, reembed_knowledge_base
from apps.modelapi.errors import ModelApiError


class Command(BaseCommand):
    help = (
        "Re-embed knowledge bases whose vectors come from another model than EMBEDDING_MODEL. "
        "Questions keep working meanwhile (text search for that base), and the new vectors "
        "are swapped in at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--knowledge-base", type=int, action="append", dest="ids", help="id (repeatable)"
        )
        parser.add_argument("--all", action="store_true", help="every base that needs it")
        parser.add_argument("--force", action="store_true", help="even if the model is unchanged")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["ids"] and not options["all"]:
            raise CommandError("Name --knowledge-base ID or --all.")
        bases = KnowledgeBase.objects.all()
        if options["ids"]:
            bases = bases.filter(pk__in=options["ids"])
        for knowledge_base in bases:
            if not options["force"] and not needs_reembedding(knowledge_base):
                self.stdout.write(
                    f"{knowledge_base.name}: already on {knowledge_base.embedding_model or 'no vectors'}."
                )
                continue

            def progress(done: int, total: int, name: str = knowledge_base.name) -> None:
                self.stdout.write(f"  {name}: {done}/{total} chunks embedded")

            try:
                result = reembed_knowledge_base(knowledge_base=knowledge_base, progress=progress)
            except ModelApiError as exc:
                raise CommandError(f"{knowledge_base.name}: {exc.user_message} ({exc})") from exc
            self.stdout.write(
                self.style.SUCCESS(
                    f"{result.knowledge_base}: {result.chunks} chunks moved from "
                    f"{result.previous_model or 'none'} to {result.model}."
                )
            )
