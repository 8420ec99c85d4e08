"""The sign-in page with an identity provider: the button, SSO-only mode (password for
superusers only, django-axes still counting), a provider that is down, and sign-out that
ends the provider's session."""

from __future__ import annotations

import httpx
import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from tests.accounts.oidc_flow import authorize, new_browser, params, sign_in, start
from tests.oidc_provider.fixtures import configure_app

pytestmark = pytest.mark.django_db


def _password_sign_in(client: Client, username: str, password: str, query: str = ""):
    return client.post(
        reverse("login") + query,
        {"username": username, "password": password},
        REMOTE_ADDR="10.1.1.1",
    )


def test_without_a_provider_there_is_no_button_and_no_route(client) -> None:
    assert not django_settings.OIDC_ENABLED
    html = client.get(reverse("login")).content.decode()
    assert "Sign in with" not in html and 'name="password"' in html
    assert client.get(reverse("sso:start")).status_code == 404
    assert client.get(reverse("sso:callback"), {"code": "c", "state": "s"}).status_code == 404


def test_the_button_keeps_next_and_the_password_form_stays(client, sso) -> None:
    html = client.get(reverse("login"), {"next": "/kb/"}).content.decode()
    assert 'href="/oidc/start/?next=%2Fkb%2F"' in html and "Sign in with Test IdP" in html
    assert 'name="password"' in html


def test_sso_only_hides_the_password_form(client, settings, sso) -> None:
    settings.OIDC_SSO_ONLY = True
    html = client.get(reverse("login")).content.decode()
    assert "Sign in with Test IdP" in html and 'name="password"' not in html
    assert 'name="password"' in client.get(reverse("login"), {"password": "1"}).content.decode()


def test_sso_only_refuses_a_right_password_of_a_non_superuser(client, settings, sso, bob) -> None:
    settings.OIDC_SSO_ONLY = True
    for query in ("", "?password=1"):
        response = _password_sign_in(client, "bob", "bob-password", query)
        assert response.status_code == 200 and "_auth_user_id" not in client.session
        assert "for administrators only" in response.content.decode()
    wrong = _password_sign_in(client, "bob", "wrong", "?password=1").content.decode()
    right = _password_sign_in(client, "bob", "bob-password", "?password=1").content.decode()
    assert wrong.count("for administrators only") == right.count("for administrators only") == 1


def test_sso_only_lets_a_superuser_sign_in_with_a_password(client, settings, sso) -> None:
    settings.OIDC_SSO_ONLY = True
    User.objects.create_superuser("root", password="root-password")
    assert _password_sign_in(client, "root", "root-password", "?password=1").status_code == 302
    admin = Client()
    response = admin.post(
        reverse("admin:login"),
        {"username": "root", "password": "root-password"},
        REMOTE_ADDR="10.1.1.2",
    )
    assert response.status_code == 302 and "_auth_user_id" in admin.session


def test_sso_only_refuses_staff_at_the_admin_sign_in(client, settings, sso, alice) -> None:
    settings.OIDC_SSO_ONLY = True
    response = client.post(
        reverse("admin:login"),
        {"username": "alice", "password": "alice-password"},
        REMOTE_ADDR="10.1.1.3",
    )
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert "for administrators only" in response.content.decode()


def test_sso_only_still_locks_out_after_wrong_passwords(client, settings, sso) -> None:
    settings.OIDC_SSO_ONLY = True
    User.objects.create_superuser("root", password="root-password")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _password_sign_in(client, "root", "wrong", "?password=1")
    response = _password_sign_in(client, "root", "root-password", "?password=1")
    assert response.status_code == 429 and "_auth_user_id" not in client.session


def test_a_provider_that_is_down_leaves_the_password_sign_in_working(client, settings, bob) -> None:
    from apps.sso import discovery

    discovery.forget()
    settings.OIDC_ENABLED = True
    settings.OIDC_ISSUER = "http://127.0.0.1:9/down"
    settings.OIDC_DISCOVERY_URL = "http://127.0.0.1:9/down/.well-known/openid-configuration"
    settings.OIDC_RP_CLIENT_ID = "qa-app"
    assert "Sign in with" in client.get(reverse("login")).content.decode()
    response = client.get(reverse("sso:start"))
    assert response.status_code == 503
    assert "could not be reached for its discovery document" in response.content.decode()
    assert _password_sign_in(client, "bob", "bob-password").status_code == 302
    discovery.forget()


def test_a_provider_naming_another_issuer_is_refused(client, settings, oidc_provider) -> None:
    configure_app(settings, oidc_provider, "qa-app")
    settings.OIDC_ISSUER = "http://127.0.0.1:9/someone-else"
    response = client.get(reverse("sso:start"))
    assert (
        response.status_code == 503
        and "not the configured OIDC_ISSUER" in response.content.decode()
    )


def test_sign_out_ends_the_provider_session(sso) -> None:
    sso.user("dana", "dana-pass")
    browser = new_browser()
    sign_in(browser, sso, "dana", "dana-pass")
    response = browser.app.post(reverse("logout"))
    assert response.status_code == 200 and "_auth_user_id" not in browser.app.session
    # A page that moves on by itself: a form's redirect to the provider would be blocked by
    # the Content-Security-Policy (form-action 'self').
    end_session = response.context["provider_logout_url"]
    assert (
        f'http-equiv="refresh" content="0;url={escape(end_session)}"' in response.content.decode()
    )
    assert end_session.startswith(f"{sso.issuer}/logout/?")
    assert params(end_session)["post_logout_redirect_uri"] == "http://testserver/login/"
    back = browser.provider.get(end_session)
    assert back.status_code == 302 and back.headers["location"] == "http://testserver/login/"
    # The provider asks for the password again instead of answering at once.
    asked = browser.provider.get(start(browser))
    assert asked.status_code == 302 and "/accounts/login/" in asked.headers["location"]


def test_the_provider_session_lasts_without_sign_out(sso) -> None:
    sso.user("dana", "dana-pass")
    browser = new_browser()
    sign_in(browser, sso, "dana", "dana-pass")
    browser.app.logout()  # the app's session gone some other way (expiry)
    assert "/oidc/callback/" in authorize(browser, start(browser))


def test_a_password_user_signs_out_here_only(client, sso, bob) -> None:
    client.force_login(bob)
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")


def test_sign_out_works_when_the_provider_is_down_afterwards(settings, sso) -> None:
    from apps.sso import discovery

    sso.user("dana", "dana-pass")
    browser = new_browser()
    sign_in(browser, sso, "dana", "dana-pass")
    discovery.forget()
    settings.OIDC_DISCOVERY_URL = "http://127.0.0.1:9/down/.well-known/openid-configuration"
    response = browser.app.post(reverse("logout"))
    assert response["Location"] == reverse("login") and "_auth_user_id" not in browser.app.session


def test_the_control_endpoint_of_the_test_provider_needs_its_token(oidc_provider) -> None:
    assert httpx.post(f"{oidc_provider.url}/_control/", json={}).status_code == 403
