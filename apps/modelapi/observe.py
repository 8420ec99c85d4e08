"""What the apps report for operators: request ids, counters and timings, worker heartbeats.

Every app may import ``apps.modelapi`` and none may import ``apps.operations``, so the
Prometheus metrics that the pipeline moves are defined here, in the bottom layer, and
``apps.operations`` only exposes them at ``/metrics`` (it adds the request latency and the
gauges read from the database). Under gunicorn with ``PROMETHEUS_MULTIPROC_DIR`` set,
prometheus-client keeps each process's values in that directory and the scrape adds them up.

The request id lives here too: set per request by ``apps.operations``' middleware (or per
worker task by ``request_scope``), read by the model-API transport (sent as ``X-Request-ID``,
so the model server's logs carry it) and by the log filter (``apps/operations/logs.py``).

A worker's heartbeat is a row of ``apps.operations``; the ingestion worker says it is alive
through the ``worker_alive`` signal, which that app receives and records.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.dispatch import Signal
from prometheus_client import Counter, Histogram

# The id of the request (or worker task) being served; "" outside of one.
request_id: ContextVar[str] = ContextVar("request_id", default="")

# An incoming X-Request-ID is adopted only when it looks like an id, not like a payload.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")

# Buckets from 5 ms (an embedding of one question) to 2 minutes (a long streamed answer).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

STAGES = ("embed", "retrieve", "rerank", "generate")
STAGE_SECONDS = Histogram(
    "qa_stage_duration_seconds",
    "Time of one stage of answering or indexing: embed, retrieve, rerank, generate.",
    ["stage"],
    buckets=LATENCY_BUCKETS,
)
for _stage in STAGES:  # every stage shows in a scrape from the start, at zero
    STAGE_SECONDS.labels(stage=_stage)
QUESTIONS_ASKED = Counter(
    "qa_questions_asked",
    "Questions that reached the ask pipeline (browser, stream, API and OpenAI-compatible).",
)
MODEL_API_ERRORS = Counter(
    "qa_model_api_errors",
    "Failed model-API attempts by endpoint and HTTP status (or timeout / connection).",
    ["endpoint", "status"],
)

# An ingestion worker is alive: ``worker_id``.
worker_alive = Signal()


def current_request_id() -> str:
    return request_id.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def adopted_request_id(incoming: str | None) -> str:
    """The caller's id when it is a sane one (max 64 of ``[A-Za-z0-9._-]``), else a new one."""
    if incoming and REQUEST_ID_PATTERN.fullmatch(incoming):
        return incoming
    return new_request_id()


@contextmanager
def request_scope(value: str) -> Iterator[str]:
    """Run the block as request ``value`` (a worker task, a command); the old id after it."""
    token = request_id.set(value)
    try:
        yield value
    finally:
        request_id.reset(token)


def task_request_id(kind: str, object_id: int) -> str:
    """A worker task's id, e.g. ``doc-42-1f3a9c0b``: what it works on, and unique per run."""
    return f"{kind}-{object_id}-{uuid.uuid4().hex[:8]}"


@contextmanager
def timed(stage: str) -> Iterator[None]:
    """Time the block as ``stage`` (one of ``STAGES``), also when it raises."""
    started = time.monotonic()
    try:
        yield
    finally:
        STAGE_SECONDS.labels(stage=stage).observe(time.monotonic() - started)


def count_question() -> None:
    QUESTIONS_ASKED.inc()


def count_model_error(endpoint: str, status: str) -> None:
    MODEL_API_ERRORS.labels(endpoint=endpoint, status=status).inc()


def worker_seen(worker_id: str) -> None:
    worker_alive.send(sender=None, worker_id=worker_id)
