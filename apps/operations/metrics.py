"""``/metrics``: who may scrape it, the request latency, the database gauges, the rendering.

The pipeline's own metrics (questions, stages, model-API errors) are defined in
``apps.modelapi.observe``; this module adds the request latency histogram (moved by
``RequestMetricsMiddleware``) and gauges read from the database at scrape time, and renders
them all. With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn's workers and the ingestion worker
each write their values there) a scrape adds up every process's values.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count
from django.http import HttpRequest
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from apps.knowledge.models import Document
from apps.modelapi.observe import LATENCY_BUCKETS

logger = logging.getLogger(__name__)

# The classic text format that every Prometheus reads (generate_latest writes it).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUEST_SECONDS = Histogram(
    "qa_http_request_duration_seconds",
    "Time to the response's headers, by route name, method and status class (2xx, 4xx...).",
    ["view", "method", "status"],
    buckets=LATENCY_BUCKETS,
)

# --- Who may scrape ---


def _address_allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for allowed in settings.METRICS_ALLOWED_IPS:
        try:
            if ip in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            continue
    return False


def _token_allowed(authorization: str) -> bool:
    token = settings.METRICS_BEARER_TOKEN
    return bool(token) and hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode())


def scrape_allowed(request: HttpRequest) -> bool:
    """From an address in ``METRICS_ALLOWED_IPS`` (the peer's: no forwarded header is
    trusted), or with ``Authorization: Bearer <METRICS_BEARER_TOKEN>`` from anywhere."""
    authorization = request.headers.get("Authorization", "")
    return _token_allowed(authorization) or _address_allowed(request.META.get("REMOTE_ADDR", ""))


# --- Gauges from the database ---


class DatabaseCollector(Collector):
    """The ingestion queue and the failed documents, counted in one query at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        wanted = [Document.Status.QUEUED, Document.Status.PROCESSING, Document.Status.FAILED]
        try:
            rows = (
                Document.objects.filter(status__in=wanted)
                .values_list("status")
                .annotate(n=Count("id"))
                .order_by()
            )
            counts = {str(status): n for status, n in rows}
        except DatabaseError as exc:
            logger.warning("metrics: the database is not answering: %s", exc)
            return
        queue = GaugeMetricFamily(
            "qa_ingestion_queue_depth",
            "Documents waiting for ingestion (queued) or being ingested (processing).",
            labels=["status"],
        )
        for status in (Document.Status.QUEUED, Document.Status.PROCESSING):
            queue.add_metric([str(status)], counts.get(str(status), 0))
        yield queue
        yield GaugeMetricFamily(
            "qa_documents_failed",
            "Documents whose ingestion failed (shown with their error on the manage page).",
            value=counts.get(str(Document.Status.FAILED), 0),
        )


def render() -> tuple[bytes, str]:
    """The exposition text of every metric (all processes' in multiprocess mode)."""
    if settings.PROMETHEUS_MULTIPROC_DIR:
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
            processes, path=settings.PROMETHEUS_MULTIPROC_DIR
        )
        text = generate_latest(processes)
    else:
        text = generate_latest(REGISTRY)
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector())
    return text + generate_latest(database), CONTENT_TYPE
