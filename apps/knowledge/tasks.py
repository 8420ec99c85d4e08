"""Background tasks: thin wrappers that import their service inside the body (the service
module enqueues the task, so the task must not import it at the top)."""

from __future__ import annotations

from django_tasks import task


@task()
def index_document_task(document_id: int) -> str:
    from apps.knowledge.indexing import index_document
    from apps.modelapi.observe import request_scope, task_request_id

    # The task's own request id, sent with its embedding calls and on its log lines.
    with request_scope(task_request_id("doc", document_id)):
        return index_document(document_id=document_id).outcome


@task()
def relex_knowledge_base_task(knowledge_base_id: int) -> int:
    from apps.knowledge.relexing import relex_knowledge_base
    from apps.modelapi.observe import request_scope, task_request_id

    with request_scope(task_request_id("kb", knowledge_base_id)):
        return relex_knowledge_base(knowledge_base_id=knowledge_base_id)
