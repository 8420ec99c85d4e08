"""Every answer below /api/v1/ is JSON, errors in the model-API family's shape; never HTML."""

from __future__ import annotations

import json

import pytest
from django.db import OperationalError
from django.test import Client

from apps.api.errors import DATABASE_UNAVAILABLE, UNEXPECTED

pytestmark = pytest.mark.django_db


def _error(response) -> dict:
    assert response["Content-Type"] == "application/json", response.content[:300]
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "code"}
    return body["error"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nothing",
        "/api/v1/search/",
        "/api/v1/conversations/1/2",
        "/api/v1/documents/1/unknown",
        "/api/v1/%ED%A0%80",
        "/api/v1/openai/unknown",
    ],
)
@pytest.mark.parametrize("method", ["get", "post", "delete", "put", "patch"])
def test_unknown_paths_below_the_api_get_a_json_404(alice, api_as, path, method) -> None:
    api = api_as(alice)
    response = getattr(api.client, method)(path, headers=api.headers)
    assert response.status_code == 404
    error = _error(response)
    assert error["type"] == "not_found_error" and error["code"] == "unknown_endpoint"


def test_unknown_paths_are_json_without_a_token_too() -> None:
    response = Client().get("/api/v1/nothing")
    assert response.status_code == 404 and _error(response)["type"] == "not_found_error"


def test_the_api_root_points_to_the_docs() -> None:
    response = Client().get("/api/v1/")
    assert response.json() == {"docs": "/api/v1/docs", "openapi": "/api/v1/openapi.json"}


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("put", "/api/v1/search", "GET"),
        ("get", "/api/v1/ask", "POST"),
        ("patch", "/api/v1/conversations/1", "DELETE, GET"),
    ],
)
def test_a_method_a_route_does_not_take_gets_a_json_405(
    alice, api_as, method, path, allowed
) -> None:
    api = api_as(alice)
    response = getattr(api.client, method)(path, headers=api.headers)
    assert response.status_code == 405
    assert sorted(response["Allow"].split(", ")) == allowed.split(", ")
    error = _error(response)
    assert error["type"] == "invalid_request_error" and error["code"] == "method_not_allowed"


def test_a_missing_object_is_a_json_404(alice, api_as) -> None:
    response = api_as(alice).get("/api/v1/conversations/12345")
    assert response.status_code == 404 and _error(response)["type"] == "not_found_error"


def test_a_dead_database_gives_a_json_503_with_retry_after(alice, api_as, monkeypatch) -> None:
    def dead(**kwargs: object) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("apps.api.search.retrieve", dead)
    response = api_as(alice).get("/api/v1/search", {"q": "laptops"})
    assert response.status_code == 503 and response["Retry-After"] == "5"
    error = _error(response)
    assert error == {
        "message": DATABASE_UNAVAILABLE,
        "type": "service_unavailable",
        "code": "database_unavailable",
    }


def test_an_unexpected_error_is_a_json_500_that_says_it_was_logged(
    alice, api_as, monkeypatch, caplog
) -> None:
    def broken(**kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("apps.api.search.retrieve", broken)
    response = api_as(alice).get("/api/v1/search", {"q": "laptops"})
    assert response.status_code == 500
    assert _error(response) == {
        "message": UNEXPECTED,
        "type": "api_error",
        "code": "internal_error",
    }
    assert "a bug" not in response.content.decode()
    assert any(record.exc_info for record in caplog.records)


def test_a_body_over_the_size_limit_is_a_json_413(alice, api_as, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = api_as(alice).post("/api/v1/ask", {"question": "x" * 500})
    assert response.status_code == 413 and _error(response)["code"] == "request_too_large"


def test_a_multipart_body_that_cannot_be_read_is_a_json_400(alice, knowledge_base, api_as) -> None:
    api = api_as(alice)
    response = api.client.post(
        f"/api/v1/knowledge-bases/{knowledge_base.pk}/documents",
        b"--x\r\nbroken",
        content_type="multipart/form-data; boundary=",
        headers=api.headers,
    )
    assert response.status_code == 400 and _error(response)["type"] == "invalid_request_error"


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicate keys (Swagger cannot parse them): {keys}"
    return dict(pairs)


def test_the_openapi_document_and_the_docs_page_load() -> None:
    client = Client()
    raw = client.get("/api/v1/openapi.json").content
    schema = json.loads(raw, object_pairs_hook=_no_duplicate_keys)
    assert schema["openapi"].startswith("3.") and "/api/v1/search" in schema["paths"]
    assert schema["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    page = client.get("/api/v1/docs")
    html = page.content.decode()
    assert page.status_code == 200 and "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert "script-src 'self'" in page["Content-Security-Policy"]
