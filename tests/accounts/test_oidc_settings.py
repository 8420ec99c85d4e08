"""OIDC settings come from the environment and fail loudly when they cannot work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _settings(**env: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import qa_site.settings as s; print(s.OIDC_ENABLED, s.OIDC_DISCOVERY_URL, s.OIDC_SSO_ONLY)"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OIDC_")}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DATABASE_URL": "postgres://u:p@127.0.0.1:9/unused", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_issuer_turns_sign_in_on_with_its_discovery_address() -> None:
    result = _settings(OIDC_ISSUER="https://sso.example.com/realms/co/", OIDC_CLIENT_ID="qa")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "True",
        "https://sso.example.com/realms/co/.well-known/openid-configuration",
        "False",
    ]


def test_nothing_set_means_no_provider_sign_in() -> None:
    assert _settings().stdout.split()[0] == "False"


@pytest.mark.parametrize(
    ("env", "sentence"),
    [
        (
            {"OIDC_ISSUER": "https://sso.example.com"},
            "needs OIDC_ISSUER (or OIDC_DISCOVERY_URL) and OIDC_CLIENT_ID",
        ),
        ({"OIDC_SSO_ONLY": "1"}, "OIDC_SSO_ONLY=1 needs OIDC sign-in configured"),
    ],
)
def test_settings_that_cannot_work_stop_the_start(env, sentence) -> None:
    result = _settings(**env)
    assert result.returncode != 0 and sentence in result.stderr
