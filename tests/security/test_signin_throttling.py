"""Sign-in is throttled by django-axes: after AXES_FAILURE_LIMIT wrong passwords for one user
name from one address, that pair is refused, even with the right password, with a clear page."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _sign_in(client: Client, username: str, password: str, ip: str = "10.0.0.5"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_the_limit_comes_from_settings_and_defaults_to_five() -> None:
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_the_sixth_attempt_is_refused_even_with_the_right_password(client, bob) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _sign_in(client, "bob", "wrong")
        assert response.status_code == 200 and "_auth_user_id" not in client.session
    # The fifth failure reaches the limit and is answered with the lockout page.
    assert _sign_in(client, "bob", "wrong").status_code == 429
    response = _sign_in(client, "bob", "bob-password")
    html = response.content.decode()
    assert response.status_code == 429 and "_auth_user_id" not in client.session
    assert "Sign-in temporarily locked" in html and "Too many wrong passwords" in html
    assert "0:15:00" in html  # the cool-off the page promises
    assert client.get(reverse("chat:ask")).status_code == 302


def test_the_lock_holds_one_user_name_from_one_address_only(client, bob, charlie) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, "bob", "wrong")
    other = Client()
    assert _sign_in(other, "charlie", "charlie-password").status_code == 302
    elsewhere = Client()
    assert _sign_in(elsewhere, "bob", "bob-password", ip="10.0.0.99").status_code == 302


def test_a_success_before_the_limit_resets_the_count(client, bob) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _sign_in(client, "bob", "wrong")
    assert _sign_in(client, "bob", "bob-password").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _sign_in(client, "bob", "wrong")
    assert _sign_in(client, "bob", "bob-password").status_code == 302


def test_force_login_and_client_login_used_by_tests_still_work(client, bob) -> None:
    client.force_login(bob)
    assert client.get(reverse("chat:ask")).status_code == 200
    other = Client()
    # Django's Client.login authenticates without a request: no address to throttle.
    assert not other.login(username="bob", password="wrong")
    assert other.login(username="bob", password="bob-password")
    assert other.get(reverse("chat:ask")).status_code == 200
