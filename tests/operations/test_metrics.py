"""/metrics: off by default, for allowed scrapers only, and the numbers move with the work."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from apps.knowledge.models import Document
from tests.operations.conftest import sample, scrape
from tests.servers import Reply, fake_groq

pytestmark = pytest.mark.django_db

STAGE_COUNT = "qa_stage_duration_seconds_count"
HTTP_COUNT = "qa_http_request_duration_seconds_count"
ERRORS = "qa_model_api_errors_total"


def ask(client: Client, knowledge_base_id: int) -> None:
    response = client.post(
        reverse("chat:ask"),
        {"question": "How often are laptops replaced?", "knowledge_base": knowledge_base_id},
    )
    assert response.status_code in (200, 302)


def test_metrics_are_not_found_while_turned_off(client, settings) -> None:
    settings.METRICS_ENABLED = False
    assert client.get(reverse("operations:metrics")).status_code == 404


def test_metrics_are_forbidden_to_addresses_outside_the_allowed_list(client, settings) -> None:
    settings.METRICS_ENABLED = True
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "::1"]
    settings.METRICS_BEARER_TOKEN = "scrape-secret"
    url = reverse("operations:metrics")
    assert client.get(url).status_code == 403  # from 127.0.0.1
    assert client.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get(url, REMOTE_ADDR="10.1.2.3").status_code == 200


def test_metrics_admit_the_bearer_token_from_any_address(client, settings) -> None:
    settings.METRICS_ENABLED = True
    settings.METRICS_ALLOWED_IPS = []
    settings.METRICS_BEARER_TOKEN = "scrape-secret"
    response = client.get(
        reverse("operations:metrics"),
        headers={"Authorization": "Bearer scrape-secret"},
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")


def test_an_ask_through_the_local_provider_counts_the_question_and_times_every_stage(
    client, metrics_on, demo_world
) -> None:
    client.force_login(demo_world.user)
    before = scrape(client)
    ask(client, demo_world.knowledge_base.pk)
    after = scrape(client)
    questions = "qa_questions_asked_total"
    assert sample(after, questions) == sample(before, questions) + 1
    for stage in ("embed", "retrieve", "rerank", "generate"):
        moved = sample(after, STAGE_COUNT, stage=stage) - sample(before, STAGE_COUNT, stage=stage)
        assert moved >= 1, stage
    route = {"view": "chat:ask", "method": "POST"}
    asked = sample(after, HTTP_COUNT, **route, status="3xx") - sample(
        before, HTTP_COUNT, **route, status="3xx"
    )
    assert asked == 1


@pytest.mark.parametrize("status", [500, 429])
def test_model_api_errors_are_counted_by_endpoint_and_status(
    client, metrics_on, demo_world, settings, status
) -> None:
    client.force_login(demo_world.user)
    before = scrape(client)
    with fake_groq() as fake:
        error = {"error": {"message": "down", "type": "server_error", "code": None}}
        fake.reply("chat/completions", Reply(status, error, headers={"retry-after": "0"}))
        settings.CHAT_BASE_URL = fake.base_url
        ask(client, demo_world.knowledge_base.pk)
        attempts = len(fake.requests)
    after = scrape(client)
    labels = {"endpoint": "chat/completions", "status": str(status)}
    assert attempts >= 1
    assert sample(after, ERRORS, **labels) - sample(before, ERRORS, **labels) == attempts


def test_request_latency_is_labelled_by_route_name_never_by_the_raw_path(
    client, metrics_on
) -> None:
    secret_path = f"/no-such-page-{uuid.uuid4().hex}/"
    before = scrape(client)
    client.get(reverse("operations:healthz"))
    client.get(secret_path)
    response = client.get(reverse("operations:metrics"))
    after = scrape(client)
    healthz = {"view": "operations:healthz", "method": "GET", "status": "2xx"}
    unmatched = {"view": "unmatched", "method": "GET", "status": "4xx"}
    assert sample(after, HTTP_COUNT, **healthz) - sample(before, HTTP_COUNT, **healthz) == 1
    assert sample(after, HTTP_COUNT, **unmatched) - sample(before, HTTP_COUNT, **unmatched) == 1
    assert secret_path.strip("/") not in response.content.decode()


def test_the_ingestion_queue_and_failed_documents_are_read_from_the_database(
    client, metrics_on, knowledge_base
) -> None:
    for status, count in [("queued", 3), ("processing", 1), ("failed", 2), ("ready", 4)]:
        for i in range(count):
            Document.objects.create(
                knowledge_base=knowledge_base, title=f"{status} {i}", status=status
            )
    samples = scrape(client)
    assert sample(samples, "qa_ingestion_queue_depth", status="queued") == 3
    assert sample(samples, "qa_ingestion_queue_depth", status="processing") == 1
    assert sample(samples, "qa_documents_failed") == 2


def test_a_scrape_reads_the_database_gauges_in_one_query(
    client, metrics_on, django_assert_num_queries
) -> None:
    with django_assert_num_queries(1):
        assert client.get(reverse("operations:metrics")).status_code == 200
