"""The test OpenID provider as a pytest fixture, and the app configured to use it.

tests/conftest.py imports the fixtures, so every test has ``oidc_provider`` and ``sso``.
The provider is a real django-oauth-toolkit server in its own process, started once per
test session on a free loopback port.
"""

from __future__ import annotations

import os
import secrets
import select
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from apps.sso import discovery

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 60
CLIENT_SECRET = "test-client-secret-0123456789"
# Loopback redirect URIs match any port at the provider (RFC 8252): the app's live server,
# the in-process test client ("testserver", exact).
HOSTS = ("127.0.0.1", "localhost", "testserver")


@dataclass
class OidcProvider:
    url: str
    control_token: str

    @property
    def issuer(self) -> str:
        return f"{self.url}/o"

    def _control(self, body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/_control/",
            json=body,
            headers={"X-Control-Token": self.control_token},
            timeout=10,
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def user(self, username: str, password: str, *, groups: list[str] = (), **profile: str) -> str:
        """Create or change a provider user; returns its ``sub``."""
        spec = {"username": username, "password": password, "groups": list(groups), **profile}
        return str(self._control({"user": spec})["sub"])

    def client(self, client_id: str, *, behaviour: str = "normal") -> None:
        self._control(
            {
                "client": {
                    "client_id": client_id,
                    "client_secret": CLIENT_SECRET,
                    "behaviour": behaviour,
                    "redirect_uris": [f"http://{h}/oidc/callback/" for h in HOSTS],
                    "post_logout_redirect_uris": [f"http://{h}/login/" for h in HOSTS],
                }
            }
        )


@pytest.fixture(scope="session", name="oidc_provider")
def oidc_provider_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    token = secrets.token_urlsafe(16)
    env = {**os.environ, "OIDC_PROVIDER_CONTROL_TOKEN": token}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.oidc_provider.serve", str(tmp_path_factory.mktemp("op"))],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_SECONDS)
        line = process.stdout.readline() if ready else ""
        if not line.startswith("READY "):
            pytest.fail(f"the test OpenID provider did not start (said {line!r})")
        yield OidcProvider(url=line.split()[1], control_token=token)
    finally:
        process.terminate()
        process.wait(timeout=20)


def configure_app(settings: Any, provider: OidcProvider, client_id: str, **extra: Any) -> None:
    """Point the app at the provider for one test (the ``settings`` fixture undoes it)."""
    discovery.forget()
    settings.OIDC_ENABLED = True
    settings.OIDC_ISSUER = provider.issuer
    settings.OIDC_DISCOVERY_URL = f"{provider.issuer}/.well-known/openid-configuration"
    settings.OIDC_RP_CLIENT_ID = client_id
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_RP_SCOPES = "openid email profile groups"
    settings.OIDC_BUTTON_LABEL = "Sign in with Test IdP"
    for name, value in extra.items():
        setattr(settings, name, value)


@pytest.fixture(name="sso")
def sso_fixture(settings: Any, oidc_provider: OidcProvider) -> Iterator[OidcProvider]:
    """The app signed in through the provider's ``normal`` client, for this test."""
    oidc_provider.client("qa-app")
    configure_app(settings, oidc_provider, "qa-app")
    yield oidc_provider
    discovery.forget()
