"""A database that is down or restarting gives a 503 with a sentence, never a 500.

``DatabaseUnavailableMiddleware`` answers for errors raised in a view (where nearly every
query runs, the session and user lookups included); ``server_error`` (the project's
``handler500``) for the rest, such as the session saved on the way out. The response is
rendered without the request's context processors: they would query the database again.
The next request opens a new connection (Django closes one that errored), so it succeeds
as soon as the server is back.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
MESSAGE = (
    "The database is not answering right now (it may be restarting). Nothing you sent was "
    "stored; try again in a few seconds."
)


def wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    api = request.path.startswith("/api/")  # the HTTP API answers JSON only (apps/api)
    return api or "application/json" in accept or request.path.endswith(".json")


def database_unavailable_response(request: HttpRequest, error: Exception) -> HttpResponse:
    logger.warning("database unavailable during %s %s: %s", request.method, request.path, error)
    response: HttpResponse
    if wants_json(request):
        body = {"message": MESSAGE, "type": "service_unavailable", "code": "database_unavailable"}
        response = JsonResponse({"error": body}, status=503)
    else:
        html = render_to_string("unavailable.html", {"message": MESSAGE})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_ERRORS):
            return database_unavailable_response(request, exception)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: a 503 when the uncaught error is the database's, else Django's 500."""
    error = sys.exc_info()[1]
    if isinstance(error, DATABASE_ERRORS):
        return database_unavailable_response(request, error)
    return defaults.server_error(request)
