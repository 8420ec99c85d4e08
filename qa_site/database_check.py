"""The database server must be PostgreSQL 16 or later with pgvector 0.8.0 or later.

A Django system check (registered by ``qa_site.apps``), so ``migrate``, ``runserver``, the
ingestion worker and ``check`` refuse an older server at start, for the embedded server and
for ``DATABASE_URL`` alike; it costs one query. pgvector 0.8.0 is the real requirement
(iterative index scans, for filtered HNSW searches). PostgreSQL 16 is the oldest server the
app has run on (the earlier embedded default); pgvector 0.8 and Django 5.2 would accept 13
and 14, but nothing older than 16 is tested.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

MIN_SERVER_VERSION_NUM = 160000  # `server_version_num` of PostgreSQL 16.0
MIN_PGVECTOR = (0, 8, 0)
_VERSIONS = """
    SELECT current_setting('server_version_num')::int,
           (SELECT extversion FROM pg_extension WHERE extname = 'vector'),
           (SELECT default_version FROM pg_available_extensions WHERE name = 'vector')
"""


def _server_version(num: int) -> str:
    major = num // 10000
    return f"{major}.{num % 10000}" if major >= 10 else f"{major}.{num // 100 % 100}"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def version_problem(
    *, server_version_num: int, vector_installed: str | None, vector_available: str | None
) -> str | None:
    """What is too old on a server, in a sentence naming the minimum; None when all is fine.

    ``vector_installed`` is the extension's version in the database (None before the first
    migration, which creates it at the server's default version, ``vector_available``).
    """
    need = ".".join(map(str, MIN_PGVECTOR))
    if server_version_num < MIN_SERVER_VERSION_NUM:
        return (
            f"PostgreSQL {_server_version(server_version_num)} is too old: this app needs "
            f"PostgreSQL {MIN_SERVER_VERSION_NUM // 10000} or later, with pgvector {need} or later."
        )
    if vector_installed is not None:
        if _version(vector_installed) >= MIN_PGVECTOR:
            return None
        fix = (
            f"the server has {vector_available}: run `ALTER EXTENSION vector UPDATE;` in the database"
            if vector_available and _version(vector_available) >= MIN_PGVECTOR
            else "upgrade pgvector on the server, then run `ALTER EXTENSION vector UPDATE;` in the database"
        )
        return (
            f"pgvector {vector_installed} is installed in the database; this app needs "
            f"{need} or later (iterative index scans): {fix}."
        )
    if vector_available is None:
        return f"The server has no pgvector extension: install pgvector {need} or later."
    if _version(vector_available) < MIN_PGVECTOR:
        return (
            f"The server's pgvector is {vector_available}; this app needs {need} or later: "
            "upgrade pgvector on the server."
        )
    return None


def check_database_versions(
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[checks.CheckMessage]:
    """The check itself. Unlike Django's database checks it also runs when no database is
    named (``runserver``, ``db_worker``, a plain ``check``): then on the default one."""
    messages: list[checks.CheckMessage] = []
    named = databases is not None
    for alias in databases if databases is not None else [DEFAULT_DB_ALIAS]:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        try:
            with connection.cursor() as cursor:
                cursor.execute(_VERSIONS)
                server, installed, available = cursor.fetchone()
        except DatabaseError as exc:
            # Unreachable: whatever uses the database next says so. A warning only when the
            # database was named (`check --database default`), as Django's own checks do;
            # `check --deploy` on a build machine without the database stays clean.
            if named:
                messages.append(
                    checks.Warning(
                        f"Could not read the versions of database {alias!r}: {exc}",
                        id="qa_site.W001",
                    )
                )
            continue
        problem = version_problem(
            server_version_num=server, vector_installed=installed, vector_available=available
        )
        if problem is not None:
            messages.append(checks.Error(f"Database {alias!r}: {problem}", id="qa_site.E001"))
    return messages
