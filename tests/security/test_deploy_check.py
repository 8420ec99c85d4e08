"""`manage.py check --deploy` with production settings, in a subprocess: no warnings."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _production_env(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "TEST_DATABASE", "AXES_"))
    }
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="qa.example.com",
        # A database that is never reached: the check needs none, and nothing starts one.
        DATABASE_URL="postgres://nobody:nothing@127.0.0.1:9/none",
    )
    env.update(overrides)
    return env


def _check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_production_settings_pass_the_deploy_check_with_no_warnings() -> None:
    result = _check_deploy(_production_env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output, output


def test_the_check_does_fail_when_a_production_setting_is_turned_off() -> None:
    result = _check_deploy(_production_env(DJANGO_SECURE_COOKIES="0", DJANGO_HSTS_SECONDS="0"))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "security.W012" in output and "security.W004" in output
