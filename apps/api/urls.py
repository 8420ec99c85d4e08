"""/api/v1/: the API's routes, each answering JSON even for a method it does not take, and
a JSON 404 for every other path below it (never Django's HTML pages)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponseNotAllowed, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, re_path, reverse

from apps.api.api import api
from apps.api.errors import ApiError, error_response, json_not_found

View = Callable[..., HttpResponseBase]


def json_method_not_allowed(view: View) -> View:
    """ninja answers a method a route does not take with a plain-text 405: make it JSON."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if not isinstance(response, HttpResponseNotAllowed):
            return response
        allowed = response["Allow"]
        message = f"{request.method} is not allowed here; this endpoint takes {allowed}."
        answer = error_response(ApiError(405, message, code="method_not_allowed"))
        answer["Allow"] = allowed
        return answer

    return wrapped


def api_root(request: HttpRequest) -> HttpResponseBase:
    """/api/v1/ itself: where the documentation is (ninja's own root raises an HTML 404)."""
    return JsonResponse(
        {"docs": reverse("api:openapi-view"), "openapi": reverse("api:openapi-json")}
    )


def _json_only(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            if pattern.name == "api-root":
                pattern.callback = api_root
            pattern.callback = json_method_not_allowed(pattern.callback)
    return patterns


app_name = "api"  # ninja reverses its own pages as "api:…" (``urls_namespace``)
urlpatterns = [
    *_json_only(api.urls[0]),
    re_path(r"^.*$", json_not_found, name="unknown"),
]
