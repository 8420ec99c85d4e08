"""Background tasks: thin wrappers around the ingestion services."""

from __future__ import annotations

from django_tasks import task

from apps.knowledge.pipeline import ingest_document


@task()
def ingest_document_task(document_id: int) -> str:
    return ingest_document(document_id=document_id).outcome
