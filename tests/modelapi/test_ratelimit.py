"""The client-side limiter fed by x-ratelimit-* headers."""

from __future__ import annotations

import pytest

from apps.modelapi import transport
from apps.modelapi.client import create_embeddings
from apps.modelapi.ratelimit import RateLimiter, parse_reset
from apps.modelapi.transport import Endpoint
from tests.servers import Reply, fake_groq


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("7.66s", 7.66),
        ("2m59.56s", 179.56),
        ("1h2m", 3720.0),
        ("500ms", 0.5),
        ("12", 12.0),
        ("soon", None),
        (None, None),
    ],
)
def test_groq_reset_durations_are_parsed(raw, seconds) -> None:
    assert parse_reset(raw) == (pytest.approx(seconds) if seconds is not None else None)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_requests_wait_for_the_reset_when_the_budget_is_spent() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    limiter.observe(
        "groq", {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "2.5s"}
    )
    assert limiter.wait_turn("groq", tokens=10) == pytest.approx(2.5)
    assert limiter.wait_turn("groq", tokens=10) == 0.0  # the budget reset; unknown until told
    assert clock.slept == [pytest.approx(2.5)]


def test_a_request_bigger_than_the_token_budget_waits_for_the_token_reset() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    limiter.observe(
        "groq",
        {
            "X-RateLimit-Remaining-Requests": "50",
            "X-RateLimit-Remaining-Tokens": "100",
            "X-RateLimit-Reset-Tokens": "1m",
        },
    )
    assert limiter.delay_for("groq", tokens=80) == 0.0
    assert limiter.delay_for("groq", tokens=500) == pytest.approx(60.0)
    assert limiter.delay_for("other-server", tokens=500) == 0.0


def test_ingestion_slows_down_before_it_is_refused(settings, monkeypatch) -> None:
    """A response saying no requests are left makes the next call wait, not fail."""
    settings.EMBEDDING_BATCH_SIZE = 1
    waits: list[float] = []
    monkeypatch.setattr(transport, "sleep", waits.append)
    embedding = {"object": "list", "data": [{"index": 0, "embedding": [0.1, 0.2]}]}
    with fake_groq() as fake:
        fake.reply(
            "embeddings",
            Reply(
                200,
                embedding,
                {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1.5s"},
            ),
        )
        create_embeddings(["a", "b"], endpoint=Endpoint(fake.base_url, "k", "m"))
        assert len(fake.requests) == 2
    assert len(waits) == 1 and 1.0 < waits[0] <= 1.5
