"""Background tasks: thin wrappers that import their service inside the body (the service
module enqueues the task, so the task must not import it at the top)."""

from __future__ import annotations

from django_tasks import task


@task()
def index_document_task(document_id: int) -> str:
    from apps.knowledge.indexing import index_document

    return index_document(document_id=document_id).outcome


@task()
def relex_knowledge_base_task(knowledge_base_id: int) -> int:
    from apps.knowledge.relexing import relex_knowledge_base

    return relex_knowledge_base(knowledge_base_id=knowledge_base_id)
