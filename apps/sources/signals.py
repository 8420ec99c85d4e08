"""The one hook the sources take on the task system: when a worker finishes indexing a
document, the sources' sweep is made sure to be waiting in the queue.

Why a signal: single URLs are added by the knowledge app, which cannot know about the
sources (dependencies run one way), and there is no cron to start the sweep that brings
those URLs into the re-sync schedule. Without this, a base with single URLs and no site
source would never start it. The cost is one small query per finished indexing task.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError

logger = logging.getLogger(__name__)

INDEXING_TASK = "apps.knowledge.tasks.index_document_task"


def keep_the_sweep_queued(sender: Any, task_result: Any, **kwargs: Any) -> None:
    if getattr(getattr(task_result, "task", None), "module_path", "") != INDEXING_TASK:
        return
    from apps.sources.scheduling import ensure_sweep

    try:
        ensure_sweep()
    except DatabaseError:  # never fail the task that just finished: the next one tries again
        logger.warning("could not check the sources sweep", exc_info=True)
