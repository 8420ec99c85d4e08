"""A database error gives a 503 with a sentence (HTML or JSON), never Django's 500.

The whole path, with a real server killed and started again, is tests/test_database_restart.py;
these cover the two ways in: an error raised in a view, and one raised outside any view.
"""

from __future__ import annotations

import pytest
from django.db import InterfaceError, OperationalError
from django.test import RequestFactory

from qa_site.unavailable import MESSAGE, server_error

pytestmark = pytest.mark.django_db


def _failing_retrieval(**kwargs: object) -> None:
    raise OperationalError("server closed the connection unexpectedly")


def test_a_view_meeting_a_dead_database_answers_503_with_a_sentence(
    client, alice, monkeypatch
) -> None:
    monkeypatch.setattr("apps.search.views.retrieve", _failing_retrieval)
    client.force_login(alice)

    response = client.get("/search/", {"q": "laptops"})

    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert MESSAGE in response.content.decode()


def test_a_client_asking_for_json_gets_the_error_as_json(client, alice, monkeypatch) -> None:
    monkeypatch.setattr("apps.search.views.retrieve", _failing_retrieval)
    client.force_login(alice)

    response = client.get("/search/", {"q": "laptops"}, HTTP_ACCEPT="application/json")

    assert response.status_code == 503
    assert response.json() == {
        "error": {"message": MESSAGE, "type": "service_unavailable", "code": "database_unavailable"}
    }


@pytest.mark.parametrize("error", [OperationalError("gone"), InterfaceError("closed")])
def test_the_500_handler_turns_a_database_error_outside_a_view_into_a_503(error) -> None:
    request = RequestFactory().get("/")
    try:
        raise error
    except type(error):
        response = server_error(request)
    assert response.status_code == 503 and MESSAGE in response.content.decode()


def test_the_500_handler_leaves_other_errors_a_500() -> None:
    request = RequestFactory().get("/")
    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error(request)
    assert response.status_code == 500
