"""Start (or reuse) the embedded PostgreSQL 16 + pgvector server from ``pgserver``.

Used only when ``DATABASE_URL`` is unset. Every process that imports the settings
takes a handle on the same server; ``pgserver`` stops it when the last handle closes,
so Ctrl-C on ``make run`` stops the database too, and the data under ``var/`` stays.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any


def embedded_database_settings(data_dir: Path, name: str) -> dict[str, Any]:
    """Return a Django ``DATABASES['default']`` entry for the embedded server."""
    # pgserver keeps its lock under the user runtime dir and warns when XDG_RUNTIME_DIR is unset.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    from pgserver.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode="stop")
    socket_dir = server.get_postmaster_info().socket_dir
    _ensure_database(str(socket_dir), name)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(socket_dir),
        "PORT": "",
        "CONN_MAX_AGE": 0,
    }


def _ensure_database(socket_dir: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host=socket_dir, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
