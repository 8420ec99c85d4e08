"""Start (or reuse) the embedded PostgreSQL 16 + pgvector server from ``pgserver``.

Used only when ``DATABASE_URL`` is unset. Every process that imports the settings
takes a handle on the same server; ``pgserver`` stops it when the last handle closes,
so Ctrl-C on ``make run`` stops the database too, and the data under ``var/`` stays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def embedded_database_settings(data_dir: Path, name: str) -> dict[str, Any]:
    """Return a Django ``DATABASES['default']`` entry for the embedded server."""
    import pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    socket_dir = server.get_postmaster_info().socket_dir
    _ensure_database(server, name)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(socket_dir),
        "PORT": "",
        "CONN_MAX_AGE": 0,
    }


def _ensure_database(server: Any, name: str) -> None:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unsafe database name {name!r}")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{name}";')
