"""Driving a sign-in through the test provider at the HTTP level, step by step.

The app is Django's test client (in process, host ``testserver``); the provider is the
real provider process, reached by an httpx client that keeps the provider's cookies like
a browser would. Each step can be tampered with between the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
from django.test import Client
from django.urls import reverse

from tests.oidc_provider.fixtures import OidcProvider


@dataclass
class Browser:
    app: Client
    provider: httpx.Client


def new_browser() -> Browser:
    return Browser(app=Client(raise_request_exception=False), provider=httpx.Client(timeout=10))


def provider_sign_in(
    browser: Browser, provider: OidcProvider, username: str, password: str
) -> None:
    login = f"{provider.url}/accounts/login/"
    browser.provider.get(login)
    response = browser.provider.post(
        login,
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": browser.provider.cookies["op_csrftoken"],
        },
        headers={"Referer": login},
    )
    assert response.status_code == 302, "the provider refused the test user's password"


def start(browser: Browser, next_url: str = "/") -> str:
    """The provider's authorization URL the app's button leads to."""
    response = browser.app.get(reverse("sso:start"), {"next": next_url})
    assert response.status_code == 302, response.content[:300]
    return str(response["Location"])


def authorize(browser: Browser, authorization_url: str) -> str:
    """The provider's answer (the app's callback URL with code and state)."""
    response = browser.provider.get(authorization_url)
    assert response.status_code == 302, response.text[:300]
    return str(response.headers["location"])


def callback(browser: Browser, callback_url: str):
    parts = urlsplit(callback_url)
    return browser.app.get(f"{parts.path}?{parts.query}")


def sign_in(
    browser: Browser, provider: OidcProvider, username: str, password: str, next_url: str = "/"
):
    provider_sign_in(browser, provider, username, password)
    return callback(browser, authorize(browser, start(browser, next_url)))


def params(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def with_params(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {**params(url), **changes}
    return urlunsplit(parts._replace(query=urlencode(query)))


def signed_in_username(browser: Browser) -> str | None:
    from django.contrib.auth.models import User

    user_id = browser.app.session.get("_auth_user_id")
    return User.objects.get(pk=user_id).username if user_id else None
