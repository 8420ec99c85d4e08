"""Every API error as JSON in the model-API family's shape, never HTML.

``{"error": {"message": "<a sentence>", "type": "<kind>", "code": "<machine name>"}}`` with
``type`` one of ``invalid_request_error`` (400/405/413), ``authentication_error`` (401),
``permission_error`` (403), ``not_found_error`` (404), ``rate_limit_error`` (429),
``model_error`` (a model server failed: 502/503), ``service_unavailable`` (the database is
down: 503, like ``qa_site/unavailable.py``) and ``api_error`` (anything unexpected: 500).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from ninja import Schema
from ninja.errors import HttpError, ValidationError

from apps.modelapi.errors import ModelApiError

if TYPE_CHECKING:
    from ninja import NinjaAPI

logger = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = (
    "The database is not answering right now (it may be restarting). Nothing you sent was "
    "stored; try again in a few seconds."
)
DATABASE_RETRY_AFTER_SECONDS = 5
UNEXPECTED = "Something went wrong on our side; the error was logged. Try again later."
MAX_DETAILS = 5

TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    502: "model_error",
    503: "service_unavailable",
}


class ErrorDetail(Schema):
    message: str
    type: str
    code: str


class ErrorBody(Schema):
    """What every error response carries."""

    error: ErrorDetail


class ApiError(Exception):
    """An error for the client: its status, a sentence, a type and a machine-readable code."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str,
        type: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.type = type or TYPE_BY_STATUS.get(status, "api_error")
        self.headers = headers or {}


def error_response(error: ApiError) -> HttpResponse:
    body = {"error": {"message": error.message, "type": error.type, "code": error.code}}
    response = JsonResponse(body, status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def not_found(what: str = "No such object.") -> ApiError:
    return ApiError(404, what, code="not_found")


def _validation_message(exc: ValidationError) -> str:
    """The first few problems, each as ``where: what``."""
    parts = []
    for item in exc.errors[:MAX_DETAILS]:
        location = ".".join(str(piece) for piece in item.get("loc", ()) if piece != "body")
        parts.append(f"{location}: {item.get('msg', 'invalid')}" if location else item["msg"])
    more = len(exc.errors) - MAX_DETAILS
    suffix = f" (and {more} more)" if more > 0 else ""
    return "The request is not valid: " + "; ".join(parts) + suffix + "."


def model_server_error(exc: ModelApiError) -> ApiError:
    """A model server that failed: 503 when it is unreachable or overloaded, else 502."""
    status = 503 if exc.status in (None, 429, 503) else 502
    return ApiError(status, exc.user_message, code="model_server_error", type="model_error")


def as_api_error(exc: Exception) -> ApiError:
    """Any exception raised while answering an API request, as the error the client gets."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ValidationError):
        return ApiError(400, _validation_message(exc), code="invalid_request")
    if isinstance(exc, Http404):
        return not_found()
    if isinstance(exc, PermissionDenied):
        return ApiError(403, "You may not do this.", code="forbidden")
    if isinstance(exc, RequestDataTooBig):
        return ApiError(413, "The request body is too large.", code="request_too_large")
    if isinstance(exc, MultiPartParserError | SuspiciousOperation):
        return ApiError(400, "The request body could not be read.", code="malformed_body")
    if isinstance(exc, HttpError):
        return ApiError(exc.status_code, str(exc), code="http_error")
    if isinstance(exc, ModelApiError):
        return model_server_error(exc)
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("database unavailable during an API request: %s", exc)
        retry = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
        return ApiError(503, DATABASE_UNAVAILABLE, code="database_unavailable", headers=retry)
    logger.error("unexpected error in an API request", exc_info=exc)
    return ApiError(500, UNEXPECTED, code="internal_error", type="api_error")


def handle(request: HttpRequest, exc: Exception | type[Exception]) -> HttpResponse:
    """ninja's exception handler (its type allows an exception class; it passes instances)."""
    return error_response(as_api_error(exc if isinstance(exc, Exception) else exc()))


def install_error_handlers(api: NinjaAPI) -> None:
    """Replace ninja's handlers (``{"detail": …}`` and a re-raised 500) with ours."""
    for kind in (Exception, Http404, HttpError, ValidationError, ApiError):
        api.add_exception_handler(kind, handle)


def json_not_found(request: HttpRequest) -> HttpResponse:
    """Any path below /api/v1/ that names no endpoint."""
    message = f"There is no API endpoint at {request.path}; see /api/v1/docs."
    return error_response(ApiError(404, message, code="unknown_endpoint"))
