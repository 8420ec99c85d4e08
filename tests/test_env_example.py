"""``.env.example`` says it lists every variable the app reads: each name the settings read
through the env helpers is in it (set, or commented out with its default)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Read only by the test suite, to keep parallel runs apart: not a setting of the app.
NOT_FOR_OPERATORS = {"TEST_DATABASE_NAME"}


def names_read_by_the_settings() -> set[str]:
    found: set[str] = set()
    for module in (ROOT / "qa_site").glob("*.py"):
        found |= set(re.findall(r'env_\w+\(\s*"([A-Z][A-Z0-9_]+)"', module.read_text()))
    return found - NOT_FOR_OPERATORS


def test_every_variable_the_settings_read_is_in_env_example() -> None:
    names = names_read_by_the_settings()
    assert {"DATABASE_URL", "MODEL_API_KEY", "OIDC_ISSUER"} <= names  # the scan finds them
    example = (ROOT / ".env.example").read_text()
    missing = sorted(n for n in names if not re.search(rf"^#?\s*{n}=", example, re.MULTILINE))
    assert not missing, f"read by the settings but not in .env.example: {missing}"
