"""The one error type for every failure talking to a model server."""

from __future__ import annotations

# 498 is Groq's "flex tier capacity exceeded"; every 5xx is retried too.
RETRYABLE_STATUSES = frozenset({408, 409, 429, 498})


class ModelApiError(Exception):
    """A model server refused, failed or could not be reached.

    ``retryable`` says whether the same request may succeed later; ``status`` is the
    HTTP status (``None`` for connection failures and timeouts).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        error_type: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        endpoint: str = "",
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.error_type = error_type
        self.request_id = request_id
        self.retry_after = retry_after
        self.endpoint = endpoint
        self._retryable = retryable

    @property
    def retryable(self) -> bool:
        if self._retryable is not None:
            return self._retryable
        if self.status is None:
            return True
        if self.status == 413:
            return False  # the request itself is too big: waiting does not help
        return self.status in RETRYABLE_STATUSES or self.status >= 500

    @property
    def user_message(self) -> str:
        """A sentence for the person in front of the browser."""
        if self.code and self.code.startswith("stream_"):
            return "The model server stopped answering part-way. Please try again."
        if self.status is None:
            return "The model server could not be reached. Please try again in a moment."
        if self.status == 429:
            return "The model server is rate-limiting requests. Please try again shortly."
        if self.status in (401, 403):
            return "The model server rejected the configured API key."
        if self.status >= 500:
            return "The model server had an internal problem. Please try again."
        return f"The model server refused the request: {self.message}"

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.endpoint:
            parts.append(f"endpoint={self.endpoint}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " ".join(parts)
