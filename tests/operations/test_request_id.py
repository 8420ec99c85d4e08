"""Every response carries an X-Request-ID; the log lines and the model-API calls carry it too."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from apps.modelapi import observe
from apps.modelapi.client import create_embeddings
from tests.servers import Reply, fake_groq

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
NEW_ID = re.compile(r"[0-9a-f]{32}")


def test_a_response_carries_a_new_request_id_when_none_came(client) -> None:
    first = client.get(reverse("operations:healthz"))["X-Request-ID"]
    second = client.get(reverse("operations:healthz"))["X-Request-ID"]
    assert NEW_ID.fullmatch(first) and NEW_ID.fullmatch(second) and first != second


def test_a_sane_incoming_request_id_is_returned_as_it_came(client) -> None:
    incoming = "edge-proxy.42_A-" + "x" * 48  # 64 characters of the allowed kinds
    response = client.get(reverse("operations:healthz"), headers={"X-Request-ID": incoming})
    assert response["X-Request-ID"] == incoming


@pytest.mark.parametrize(
    "incoming", ["x" * 65, "has space", "semi;colon", "new\\nline", "ünïcode", "a/b", ""]
)
def test_an_unfit_incoming_request_id_is_replaced_by_a_new_one(client, incoming) -> None:
    response = client.get(reverse("operations:healthz"), headers={"X-Request-ID": incoming})
    assert NEW_ID.fullmatch(response["X-Request-ID"])


def test_errors_carry_the_request_id_too(client) -> None:
    response = client.get("/no-such-page/", headers={"X-Request-ID": "lost-1"})
    assert response.status_code == 404 and response["X-Request-ID"] == "lost-1"


def test_django_lines_written_after_the_middleware_carry_the_request_id_too(
    client, json_logs
) -> None:
    client.get("/no-such-page/", headers={"X-Request-ID": "lost-2"})
    [line] = [line for line in json_logs.lines() if line["logger"] == "django.request"]
    assert line["message"] == "Not Found: /no-such-page/" and line["request_id"] == "lost-2"


def test_the_request_log_line_is_json_with_the_request_id(client, json_logs) -> None:
    client.get(reverse("operations:healthz"), headers={"X-Request-ID": "probe-7"})
    [line] = json_logs.requests_to("/healthz")
    assert line["request_id"] == "probe-7"
    assert (line["method"], line["view"], line["status"]) == ("GET", "operations:healthz", 200)
    assert line["level"] == "INFO" and isinstance(line["duration_ms"], float)


def test_the_local_provider_logs_the_request_id_of_the_ask_that_called_it(
    client, demo_world, json_logs, settings, app_server_url
) -> None:
    assert settings.EMBEDDINGS_BASE_URL.startswith(app_server_url)  # over real HTTP
    client.force_login(demo_world.user)
    response = client.post(
        reverse("chat:ask"),
        {
            "question": "How often are laptops replaced?",
            "knowledge_base": demo_world.knowledge_base.pk,
        },
        headers={"X-Request-ID": "ask-from-test-1"},
    )
    assert response["X-Request-ID"] == "ask-from-test-1"
    provider_lines = json_logs.requests_to("/local/v1/")
    paths = {line["path"] for line in provider_lines}
    assert {"/local/v1/embeddings", "/local/v1/chat/completions"} <= paths
    assert {line["request_id"] for line in provider_lines} == {"ask-from-test-1"}
    [ask_line] = [line for line in json_logs.requests_to("/") if line["view"] == "chat:ask"]
    assert ask_line["request_id"] == "ask-from-test-1"


def test_model_api_calls_send_the_current_request_id(settings) -> None:
    with fake_groq() as fake:
        vector = [0.0] * 384
        fake.reply("embeddings", Reply(body={"data": [{"index": 0, "embedding": vector}]}))
        settings.EMBEDDINGS_BASE_URL = fake.base_url
        with observe.request_scope("doc-5-0badcafe"):
            create_embeddings(["one passage"])
        create_embeddings(["outside of any request"])
    headers = [request["headers"] for request in fake.requests]
    assert headers[0]["X-Request-ID"] == "doc-5-0badcafe"
    assert "X-Request-ID" not in headers[1]


def test_log_format_json_writes_each_line_as_json_with_its_request_id(tmp_path) -> None:
    """The settings wire the formatter in: a fresh process with ``LOG_FORMAT=json``."""
    code = (
        "import logging; from apps.modelapi import observe\n"
        "with observe.request_scope('cli-9'):\n"
        "    logging.getLogger('apps.example').warning('a line with an id')\n"
        "logging.getLogger('apps.example').warning('a line without')\n"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={
            **os.environ,
            "EMBEDDED_DB_NAME": connection.settings_dict["NAME"],
            "LOG_FORMAT": "json",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    mine = [line for line in lines if line["logger"] == "apps.example"]
    assert [(line["message"], line["request_id"]) for line in mine] == [
        ("a line with an id", "cli-9"),
        ("a line without", "-"),
    ]


def test_a_streamed_answer_keeps_its_request_id_while_the_body_streams(
    client, demo_world, json_logs
) -> None:
    """The model calls of a streamed answer run after the view returned, as the body is read."""
    client.force_login(demo_world.user)
    response = client.post(
        reverse("chat:ask_stream"),
        {"question": "How often are laptops replaced?"},
        headers={"X-Request-ID": "stream-2"},
    )
    assert response["X-Request-ID"] == "stream-2"
    assert b"event: done" in b"".join(response.streaming_content)
    provider_lines = json_logs.requests_to("/local/v1/")
    assert {"/local/v1/embeddings", "/local/v1/chat/completions"} <= {
        line["path"] for line in provider_lines
    }
    assert {line["request_id"] for line in provider_lines} == {"stream-2"}
