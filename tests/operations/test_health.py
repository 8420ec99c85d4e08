"""/healthz and /readyz: no sign-in, check names only, a fixed number of queries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.modelapi import observe
from apps.operations import health
from apps.operations.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker_alive() -> None:
    """A heartbeat sent the way the ingestion worker sends it (the signal, recorded here)."""
    observe.worker_seen("worker-under-test")


def readyz(client: Client) -> tuple[int, dict[str, object]]:
    response = client.get(reverse("operations:readyz"))
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"].startswith("max-age=0")
    return response.status_code, response.json()


def test_healthz_answers_ok_without_touching_the_database(
    client, django_assert_num_queries
) -> None:
    with django_assert_num_queries(0):
        response = client.get(reverse("operations:healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_with_the_database_a_worker_and_the_local_provider_over_http(
    client, worker_alive, settings, app_server_url
) -> None:
    assert settings.CHAT_BASE_URL.startswith(app_server_url)  # a real HTTP probe, not in-process
    assert readyz(client) == (200, {"status": "ready"})


def test_readyz_names_the_worker_when_no_worker_was_ever_seen(client, json_logs) -> None:
    assert readyz(client) == (503, {"status": "not ready", "failing": ["worker"]})
    # A probe's "not ready" is no server error: no django.request ERROR line for it.
    assert not [line for line in json_logs.lines() if line["logger"] == "django.request"]


def test_readyz_names_the_worker_when_its_heartbeat_is_too_old(client, settings) -> None:
    settings.READYZ_WORKER_MAX_AGE_SECONDS = 60
    old = timezone.now() - timedelta(seconds=61)
    WorkerHeartbeat.objects.create(worker_id="gone", seen_at=old)
    assert readyz(client) == (503, {"status": "not ready", "failing": ["worker"]})


def test_the_worker_heartbeat_moves_one_row_forward_per_worker(worker_alive) -> None:
    first = WorkerHeartbeat.objects.get(worker_id="worker-under-test").seen_at
    observe.worker_seen("worker-under-test")
    assert WorkerHeartbeat.objects.count() == 1
    assert WorkerHeartbeat.objects.get().seen_at > first


def test_readyz_names_the_model_server_that_does_not_answer_and_nothing_about_it(
    client, worker_alive, settings, closed_port_url
) -> None:
    settings.CHAT_BASE_URL = closed_port_url
    response = client.get(reverse("operations:readyz"))
    assert response.status_code == 503
    assert response.json() == {"status": "not ready", "failing": ["chat"]}
    body = response.content.decode()
    for detail in ("127.0.0.1", closed_port_url.split(":")[-1].split("/")[0], "refused", "http"):
        assert detail not in body


def test_readyz_names_every_role_of_a_shared_server_that_is_down(
    client, worker_alive, settings, closed_port_url
) -> None:
    settings.EMBEDDINGS_BASE_URL = settings.RERANK_BASE_URL = closed_port_url
    settings.CHAT_BASE_URL = closed_port_url
    assert readyz(client) == (
        503,
        {"status": "not ready", "failing": ["embeddings", "rerank", "chat"]},
    )


def test_readyz_names_a_server_that_refuses_the_key(client, worker_alive, settings) -> None:
    settings.LOCAL_PROVIDER_KEY = "the-right-key"  # the provider now wants it
    settings.EMBEDDINGS_API_KEY = "a-wrong-key"
    status, body = readyz(client)
    assert (status, body["failing"]) == (503, ["embeddings", "rerank", "chat"])


def test_readyz_checks_this_process_own_local_provider_in_process_not_over_http(
    client, worker_alive, settings, closed_port_url
) -> None:
    # The provider's URL says "this process" (SITE_URL/local/v1); over HTTP nobody answers
    # there, so only the in-process check can find it ready.
    own = closed_port_url.replace("/openai/v1", "/local/v1")
    settings.LOCAL_PROVIDER_URL = own
    settings.EMBEDDINGS_BASE_URL = settings.RERANK_BASE_URL = settings.CHAT_BASE_URL = own
    assert readyz(client) == (200, {"status": "ready"})
    settings.CHAT_BASE_URL = own.replace("/local/v1", "/elsewhere/v1")
    assert readyz(client)[1] == {"status": "not ready", "failing": ["chat"]}


def test_readyz_skips_reranking_when_no_rerank_model_is_configured(
    client, worker_alive, settings, closed_port_url
) -> None:
    settings.RERANK_BASE_URL = closed_port_url
    settings.RERANK_MODEL = ""
    assert readyz(client) == (200, {"status": "ready"})


def test_readyz_refuses_writes(client) -> None:
    assert client.post(reverse("operations:readyz")).status_code == 405
    assert client.post(reverse("operations:healthz")).status_code == 405


def test_readyz_runs_one_query_once_the_migrations_are_known_applied(
    client, worker_alive, django_assert_num_queries
) -> None:
    client.get(reverse("operations:readyz"))  # may read django_migrations once
    with django_assert_num_queries(1):  # the worker heartbeat
        assert client.get(reverse("operations:readyz")).status_code == 200


def test_readyz_names_the_migrations_while_one_is_not_applied(
    client, worker_alive, settings, monkeypatch
) -> None:
    monkeypatch.setattr(health, "_migrations_applied", False)  # this process knew them applied
    settings.MIGRATION_MODULES = {"operations": "tests.operations.pending_migrations"}
    assert readyz(client) == (503, {"status": "not ready", "failing": ["migrations"]})


def test_readyz_names_the_database_checks_in_a_process_whose_database_is_away(
    closed_port_url,
) -> None:
    """A real process whose DATABASE_URL points at a port where nobody listens."""
    port = closed_port_url.split(":")[-1].split("/")[0]
    code = (
        "from django.test import Client\n"
        "response = Client().get('/readyz')\n"
        "print(response.status_code, response.content.decode())\n"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": f"postgres://nobody@127.0.0.1:{port}/nothing"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    status, body = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert status == "503"
    assert json.loads(body) == {
        "status": "not ready",
        "failing": ["database", "migrations", "worker"],  # the local provider is this process
    }
    assert port not in body and "nobody" not in body
