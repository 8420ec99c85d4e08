"""Log lines as JSON (``LOG_FORMAT=json``) or text, each with the request id of its request.

``RequestIdFilter`` sits on the handler: every record gets ``request_id`` from the context
variable in ``apps.modelapi.observe`` ("-" outside of a request or worker task), so the
model-API transport's lines and the local provider's own request lines carry it too.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from apps.modelapi.observe import current_request_id

# Fields a caller may add with ``extra=`` that a JSON line carries as its own keys.
EXTRA_FIELDS = ("method", "path", "view", "status", "duration_ms", "worker_id")


# Where RequestIdMiddleware also leaves the id, in ``request.META``.
REQUEST_ID_META = "qa.request_id"


def record_request_id(record: logging.LogRecord) -> str:
    """The id of the request being served, else of the request the record names
    (django.request writes its lines after the request's middleware returned), else "-"."""
    current = current_request_id()
    if current:
        return current
    request = getattr(record, "request", None)
    meta = getattr(request, "META", None)
    value = meta.get(REQUEST_ID_META) if isinstance(meta, dict) else None
    return value if isinstance(value, str) else "-"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = record_request_id(record)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, the known extra
    fields, and the error's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or record_request_id(record),
        }
        for name in EXTRA_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)
