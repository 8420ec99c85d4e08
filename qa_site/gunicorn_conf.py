"""gunicorn hooks (``gunicorn -c qa_site/gunicorn_conf.py``; other options on the command line).

With ``PROMETHEUS_MULTIPROC_DIR`` set, each worker keeps its metrics in files there; when a
worker exits, its live gauges are dropped so that a scrape does not count a dead process.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import multiprocess

from qa_site.env import env_str


def child_exit(server: Any, worker: Any) -> None:
    directory = env_str("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        multiprocess.mark_process_dead(worker.pid, directory)  # type: ignore[no-untyped-call]
