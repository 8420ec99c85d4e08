"""The readiness checks behind ``/readyz``: each answers only pass or fail, by name.

database: a connection opens and answers; migrations: none is left to apply (remembered
once true: a running process does not un-apply them); embeddings / rerank / chat: the model
server answers ``GET models`` within ``READYZ_MODEL_TIMEOUT_SECONDS``, once, no retries;
worker: an ingestion worker's heartbeat within ``READYZ_WORKER_MAX_AGE_SECONDS``.

A model server that is this process's own local provider (``LOCAL_PROVIDER_URL``) is checked
in-process, by resolving its route: an HTTP call to ourselves could wait for the very worker
that is making it (a single-threaded server, every gunicorn worker busy).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import Resolver404, resolve

from apps.modelapi.transport import server_answers
from apps.operations.heartbeat import worker_seen_recently

logger = logging.getLogger(__name__)

_migrations_applied = False  # set once true, for the life of the process


def database_answers() -> bool:
    try:
        connection.ensure_connection()
        return connection.is_usable()
    except DatabaseError as exc:
        logger.warning("readiness: the database is not answering: %s", exc)
        return False


def migrations_applied() -> bool:
    global _migrations_applied
    if not _migrations_applied:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        _migrations_applied = not plan
    return _migrations_applied


def is_own_local_provider(base_url: str) -> bool:
    return base_url.rstrip("/") == settings.LOCAL_PROVIDER_URL.rstrip("/")


def local_provider_mounted(base_url: str) -> bool:
    try:
        resolve(urlsplit(base_url).path.rstrip("/") + "/models")
    except Resolver404:
        return False
    return True


def model_servers() -> list[tuple[str, str, str]]:
    """(check name, base URL, key) of each configured model server; reranking is optional."""
    servers = [
        ("embeddings", settings.EMBEDDINGS_BASE_URL, settings.EMBEDDINGS_API_KEY),
        ("chat", settings.CHAT_BASE_URL, settings.CHAT_API_KEY),
    ]
    if settings.RERANK_MODEL:
        servers.insert(1, ("rerank", settings.RERANK_BASE_URL, settings.RERANK_API_KEY))
    return servers


def failing_model_servers() -> list[str]:
    """The names of the model servers that do not answer; a server shared by several
    roles is asked once."""
    answers: dict[tuple[str, str], bool] = {}
    failing = []
    for name, base_url, api_key in model_servers():
        if (base_url, api_key) not in answers:
            if is_own_local_provider(base_url):
                answers[base_url, api_key] = local_provider_mounted(base_url)
            else:
                timeout = settings.READYZ_MODEL_TIMEOUT_SECONDS
                answers[base_url, api_key] = server_answers(base_url, api_key, timeout)
        if not answers[base_url, api_key]:
            failing.append(name)
    return failing


def _passes(name: str, check: Callable[[], bool]) -> bool:
    """A check that meets a database error fails (say, the table of a migration not run)."""
    try:
        return check()
    except DatabaseError as exc:
        logger.warning("readiness: the %s check met a database error: %s", name, exc)
        return False


def failing_database_checks() -> list[str]:
    if not database_answers():
        return ["database", "migrations", "worker"]  # none of them can be confirmed
    checks = {"migrations": migrations_applied, "worker": worker_seen_recently}
    return [name for name, check in checks.items() if not _passes(name, check)]


def failing_checks() -> list[str]:
    """The names of the failing checks, in a fixed order; empty when ready."""
    return failing_database_checks() + failing_model_servers()
