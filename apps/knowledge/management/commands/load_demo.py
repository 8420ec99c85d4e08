from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.knowledge.demo import ensure_demo_world
from apps.knowledge.indexing import index_document


class Command(BaseCommand):
    help = "Create the demo staff user and the demo knowledge base (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--ingest-now",
            action="store_true",
            help="Index the documents in this process instead of leaving them to the worker.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        world = ensure_demo_world()
        if options["ingest_now"]:
            for document in world.documents:
                result = index_document(document_id=document.pk)
                self.stdout.write(f"  {document.title}: {result.outcome}")
        ready = sum(1 for d in world.documents if d.status == d.Status.READY)
        pending = len(world.documents) - ready
        state = "all indexed" if not pending else f"{pending} to be indexed by the worker"
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo knowledge base '{world.knowledge_base.name}': "
                f"{len(world.documents)} documents, {state}."
            )
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Sign in at the address below as  user: {world.user.username}  "
                f"password: {world.password}"
            )
        )
