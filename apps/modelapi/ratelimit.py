"""A client-side limiter fed by Groq's ``x-ratelimit-*`` headers.

After every response we remember how many requests and tokens the server says are
left and when each budget resets; before the next request to the same server we
wait for the reset when that request would exceed what is left. Ingestion thus
slows down before it is refused instead of collecting 429s.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

MAX_WAIT_SECONDS = 60.0
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_reset(value: str | None) -> float | None:
    """Groq's reset durations: ``"7.66s"``, ``"2m59.56s"``, ``"1h2m"``, ``"500ms"``, or plain seconds."""
    if not value:
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(number) * scale[unit] for number, unit in parts)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(float(raw))
    except ValueError:
        return None


@dataclass
class _Budget:
    remaining_requests: int | None = None
    requests_reset_at: float = 0.0
    remaining_tokens: int | None = None
    tokens_reset_at: float = 0.0


class RateLimiter:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._budgets: dict[str, _Budget] = {}
        self._lock = threading.Lock()

    def observe(self, key: str, headers: Mapping[str, str]) -> None:
        """Record the budgets a response announced (headers are matched case-insensitively)."""
        lowered = {k.lower(): v for k, v in headers.items()}
        requests = _int_header(lowered, "x-ratelimit-remaining-requests")
        tokens = _int_header(lowered, "x-ratelimit-remaining-tokens")
        if requests is None and tokens is None:
            return
        now = self._clock()
        with self._lock:
            budget = self._budgets.setdefault(key, _Budget())
            if requests is not None:
                budget.remaining_requests = requests
                budget.requests_reset_at = now + (
                    parse_reset(lowered.get("x-ratelimit-reset-requests")) or 0.0
                )
            if tokens is not None:
                budget.remaining_tokens = tokens
                budget.tokens_reset_at = now + (
                    parse_reset(lowered.get("x-ratelimit-reset-tokens")) or 0.0
                )

    def delay_for(self, key: str, *, tokens: int) -> float:
        """Seconds to wait before sending a request of about ``tokens`` tokens (0 if none)."""
        now = self._clock()
        with self._lock:
            budget = self._budgets.get(key)
            if budget is None:
                return 0.0
            wait = 0.0
            if budget.remaining_requests is not None and budget.remaining_requests <= 0:
                wait = max(wait, budget.requests_reset_at - now)
            if budget.remaining_tokens is not None and budget.remaining_tokens < tokens:
                wait = max(wait, budget.tokens_reset_at - now)
            return min(max(wait, 0.0), MAX_WAIT_SECONDS)

    def wait_turn(self, key: str, *, tokens: int) -> float:
        """Sleep until the request fits the last announced budget; return the time slept."""
        wait = self.delay_for(key, tokens=tokens)
        if wait > 0:
            self._sleep(wait)
            with self._lock:
                budget = self._budgets.get(key)
                if budget is not None:
                    # The budget has reset; the next response tells the new figures.
                    budget.remaining_requests = budget.remaining_tokens = None
        else:
            with self._lock:
                budget = self._budgets.get(key)
                if budget is not None and budget.remaining_requests is not None:
                    budget.remaining_requests -= 1
                if budget is not None and budget.remaining_tokens is not None:
                    budget.remaining_tokens -= tokens
        return wait
