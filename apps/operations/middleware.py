"""The request id and the request latency, for every request (first in ``MIDDLEWARE``).

``RequestIdMiddleware`` adopts a sane incoming ``X-Request-ID`` (else makes one), keeps it in
``apps.modelapi.observe.request_id`` while the request runs (the transport sends it on to the
model servers, the log filter writes it on every line) and returns it as ``X-Request-ID``.
A streamed body keeps the id while the server reads it. ``RequestMetricsMiddleware`` times the request into ``qa_http_request_duration_seconds``,
labelled by the resolved route's name, never the raw path, to keep the series few.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase

from apps.modelapi import observe
from apps.operations.logs import REQUEST_ID_META
from apps.operations.metrics import REQUEST_SECONDS

logger = logging.getLogger("apps.operations.requests")

GetResponse = Callable[[HttpRequest], HttpResponseBase]
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestIdMiddleware:
    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        value = observe.adopted_request_id(request.headers.get("X-Request-ID"))
        # For lines that Django writes after the middleware returned (django.request's
        # "Not Found: ..."): they carry the request, and the log filter reads the id here.
        request.META[REQUEST_ID_META] = value
        started = time.monotonic()
        with observe.request_scope(value):
            response = self.get_response(request)
            response["X-Request-ID"] = value
            if settings.LOG_REQUESTS:
                log_request(request, response, time.monotonic() - started)
        if isinstance(response, StreamingHttpResponse) and not response.is_async:
            # A streamed answer makes its model calls as the server reads the body, after
            # this returned: each step of the body runs as the request again.
            content = response.streaming_content
            if isinstance(content, Iterator):
                response.streaming_content = in_request_scope(content, value)
        return response


def in_request_scope(content: Iterable[bytes], value: str) -> Iterator[bytes]:
    """``content``, each of its steps run with request id ``value`` (and none in between)."""
    iterator = iter(content)
    try:
        while True:
            with observe.request_scope(value):
                try:
                    chunk = next(iterator)
                except StopIteration:
                    return
            yield chunk
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()  # a client gone mid-answer: the upstream model request closes too


def log_request(request: HttpRequest, response: HttpResponseBase, seconds: float) -> None:
    """One line per request: method, path (without its query), status, milliseconds."""
    duration_ms = round(seconds * 1000, 1)
    logger.info(
        "%s %s %s %.1fms",
        request.method,
        request.path,
        response.status_code,
        duration_ms,
        extra={
            "method": request.method,
            "path": request.path,
            "view": route_name(request),
            "status": response.status_code,
            "duration_ms": duration_ms,
        },
    )


def route_name(request: HttpRequest) -> str:
    """The resolved route's name (``chat:ask``), its pattern when unnamed, else "unmatched"."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match.route or "unnamed"


class RequestMetricsMiddleware:
    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.monotonic()
        response = self.get_response(request)
        method = request.method if request.method in METHODS else "other"
        REQUEST_SECONDS.labels(
            view=route_name(request), method=method, status=f"{response.status_code // 100}xx"
        ).observe(time.monotonic() - started)
        return response
