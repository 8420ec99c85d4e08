"""Background tasks of the sources: thin wrappers that import their service in the body."""

from __future__ import annotations

from django_tasks import task


@task()
def sync_source_task(source_id: int, mode: str) -> str:
    """A sync of one source: ``queued`` (Sync now), ``scheduled`` (when due) or ``now``."""
    from apps.modelapi.observe import request_scope, task_request_id
    from apps.sources.sync import run_sync

    with request_scope(task_request_id("source", source_id)):
        return run_sync(source_id=source_id, mode=mode).outcome


@task()
def index_page_task(document_id: int) -> str:
    """Index the copy of a page that a sync fetched and stored (no second fetch)."""
    from apps.knowledge.indexing import index_document
    from apps.modelapi.observe import request_scope, task_request_id

    with request_scope(task_request_id("doc", document_id)):
        return index_document(document_id=document_id, stored_page=True).outcome


@task()
def sweep_sources_task() -> int:
    """Single URLs join the schedule, lost or stuck syncs come back; then the next sweep."""
    from apps.sources.scheduling import sweep

    return sweep()
