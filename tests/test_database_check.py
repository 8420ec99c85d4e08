"""The start-up check of the database server's PostgreSQL and pgvector versions."""

from __future__ import annotations

import pytest
from django.core import checks

from qa_site.database_check import check_database_versions, version_problem


@pytest.mark.parametrize(
    ("server", "installed", "available"),
    [
        (160000, "0.8.0", "0.8.0"),
        (180006, "0.8.6", "0.8.6"),
        (160002, None, "0.8.1"),  # before the first migration, which creates the extension
        (170004, "0.10.0", "0.10.0"),  # compared as numbers, not as text
        (160002, "0.8.0", "0.9.0"),  # an update is there, not needed
    ],
)
def test_it_accepts_postgresql_16_or_later_with_pgvector_0_8(
    server: int, installed: str | None, available: str | None
) -> None:
    assert (
        version_problem(
            server_version_num=server, vector_installed=installed, vector_available=available
        )
        is None
    )


@pytest.mark.parametrize(
    ("server", "installed", "available", "message"),
    [
        (150004, "0.8.0", "0.8.0", "PostgreSQL 15.4 is too old: this app needs PostgreSQL 16"),
        (90624, None, None, "PostgreSQL 9.6 is too old"),
        (
            160002,
            "0.6.2",
            "0.8.6",
            "pgvector 0.6.2 is installed in the database; this app needs 0.8.0 or later "
            "(iterative index scans): the server has 0.8.6: run `ALTER EXTENSION vector UPDATE;`",
        ),
        (160002, "0.7.4", "0.7.4", "(iterative index scans): upgrade pgvector"),
        (180000, None, None, "The server has no pgvector extension: install pgvector 0.8.0"),
        (160002, None, "0.6.2", "The server's pgvector is 0.6.2; this app needs 0.8.0 or later"),
    ],
)
def test_it_names_what_is_too_old_and_the_minimum(
    server: int, installed: str | None, available: str | None, message: str
) -> None:
    problem = version_problem(
        server_version_num=server, vector_installed=installed, vector_available=available
    )

    assert problem is not None and message in problem


@pytest.mark.django_db
def test_it_passes_on_the_test_server() -> None:
    assert check_database_versions(databases=["default"]) == []


@pytest.mark.django_db
def test_it_is_registered_and_runs_without_a_named_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`runserver` and the worker run the checks with no database named."""
    monkeypatch.setattr("qa_site.database_check.MIN_PGVECTOR", (99, 0, 0))

    messages = checks.run_checks(tags=[checks.Tags.database])

    (error,) = [m for m in messages if m.id and m.id.startswith("qa_site.")]
    assert error.id == "qa_site.E001" and "this app needs 99.0.0 or later" in error.msg
