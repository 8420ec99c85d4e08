"""What the operations tests share: a free loopback port nobody listens on, a scrape, and a
log capture through the project's own JSON formatter and request-id filter."""

from __future__ import annotations

import io
import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from apps.operations.logs import JsonFormatter, RequestIdFilter


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL whose port was just free: a connection there is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/openai/v1"


@pytest.fixture
def metrics_on(settings) -> None:
    settings.METRICS_ENABLED = True
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    settings.METRICS_BEARER_TOKEN = ""


def scrape(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics`` as ``{(name, sorted labels): value}``."""
    response = client.get(reverse("operations:metrics"))
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def sample(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


class JsonLines:
    """The JSON log lines written while the capture is on, parsed."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line]

    def requests_to(self, prefix: str) -> list[dict[str, Any]]:
        return [
            line
            for line in self.lines()
            if line["logger"] == "apps.operations.requests" and line["path"].startswith(prefix)
        ]


@pytest.fixture
def json_logs() -> Iterator[JsonLines]:
    """A handler like the console one with ``LOG_FORMAT=json``, on the root logger, for
    every thread (the app server that serves the local provider logs from its own)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield JsonLines(stream)
    finally:
        root.removeHandler(handler)
