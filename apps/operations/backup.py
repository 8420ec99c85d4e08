"""Backup and restore: the database (``pg_dump``) and the stored originals, in one archive.

A backup is an uncompressed tar file (the dump is already compressed, and most originals
are too) holding ``manifest.json`` (format, time, server version, row counts, the dump's
SHA-256), ``database.dump`` (``pg_dump --format=custom``) and ``media/`` (every file under
``MEDIA_ROOT``). It is written beside its destination and renamed into place, so an
interrupted backup never leaves a file that looks whole.

A restore replaces the database in one transaction (``psql --single-transaction``): the
``public`` schema is dropped and the dump's script recreates it, so it either lands whole
or leaves the database as it was. It refuses a database that other sessions use (a running
web or worker) and, unless forced, one that already holds users, documents or conversations.
The originals are extracted after the database has landed, then ``migrate`` brings an older
backup up to this version, and the restored row counts are compared with the manifest.

The PostgreSQL client programs are found and run by ``apps.operations.pgclient``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection

from apps.chat.models import Conversation, Message
from apps.knowledge.models import Chunk, Document, KnowledgeBase
from apps.operations.pgclient import ClientError, run_client
from apps.sources.models import SiteSource

FORMAT = "qa-site-backup/1"
MANIFEST = "manifest.json"
DUMP = "database.dump"
MEDIA = "media"
# Other sessions on the database being restored (a running web process or worker).
OTHER_SESSIONS_SQL = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
)
# Runs before the dump's script, in the same transaction: a lock that another session holds
# makes the restore fail after 10 s instead of waiting for good.
RESTORE_PREFIX = (
    "SET lock_timeout = '10s';\nDROP SCHEMA IF EXISTS public CASCADE;\nCREATE SCHEMA public;\n"
)


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


# What the commands report as a clear error: these, or a client program missing or failing.
PROBLEMS = (BackupError, ClientError)


@dataclass(frozen=True)
class Counts:
    users: int
    knowledge_bases: int
    documents: int
    passages: int
    site_sources: int
    conversations: int
    messages: int

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)

    def describe(self) -> str:
        return (
            f"{self.documents} documents, {self.passages} passages, "
            f"{self.conversations} conversations, {self.users} users"
        )


@dataclass(frozen=True)
class BackupResult:
    path: Path
    counts: Counts
    media_files: int
    size_bytes: int


@dataclass(frozen=True)
class RestoreResult:
    counts: Counts
    media_files: int
    created_at: str


def current_counts() -> Counts:
    return Counts(
        users=User.objects.count(),
        knowledge_bases=KnowledgeBase._base_manager.count(),
        documents=Document._base_manager.count(),
        passages=Chunk._base_manager.count(),
        site_sources=SiteSource._base_manager.count(),
        conversations=Conversation._base_manager.count(),
        messages=Message._base_manager.count(),
    )


def default_backup_path(now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path(settings.BACKUP_DIR) / f"qa-backup-{stamp}.tar"


# --- backup ---


def create_backup(destination: Path) -> BackupResult:
    """Write the database and the originals to ``destination`` (a new tar file)."""
    if destination.exists():
        raise BackupError(f"{destination} already exists; choose another file name.")
    destination.parent.mkdir(parents=True, exist_ok=True)
    counts = current_counts()
    media_root = Path(settings.MEDIA_ROOT)
    with tempfile.TemporaryDirectory(prefix="qa-backup-") as scratch:
        dump = Path(scratch) / DUMP
        run_client(
            "pg_dump",
            ["--format=custom", "--no-owner", "--no-privileges", f"--file={dump}"],
        )
        media_files = list(_media_files(media_root))
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "server_version": connection.pg_version,  # type: ignore[attr-defined]
            "counts": counts.as_dict(),
            "dump_sha256": _sha256(dump),
            "media_files": len(media_files),
        }
        partial = destination.with_name(destination.name + ".partial")
        try:
            with tarfile.open(partial, "w") as archive:
                _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2).encode())
                archive.add(dump, arcname=DUMP)
                for path in media_files:
                    relative = path.relative_to(media_root).as_posix()
                    archive.add(path, arcname=f"{MEDIA}/{relative}", recursive=False)
            partial.replace(destination)
        finally:
            partial.unlink(missing_ok=True)
    return BackupResult(
        path=destination,
        counts=counts,
        media_files=len(media_files),
        size_bytes=destination.stat().st_size,
    )


def _media_files(root: Path) -> Iterator[Path]:
    """Regular files under the media root; links are skipped (they could point anywhere)."""
    if not root.is_dir():
        return
    for directory, _dirs, files in os.walk(root):
        for name in sorted(files):
            path = Path(directory) / name
            if path.is_file() and not path.is_symlink():
                yield path


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- restore ---


def restore_backup(source: Path, *, force: bool = False) -> RestoreResult:
    """Replace the database and add the originals from the backup at ``source``."""
    with _open_backup(source) as archive:
        manifest = _read_manifest(archive)
        members = _checked_members(archive)
        with tempfile.TemporaryDirectory(prefix="qa-restore-") as scratch:
            dump = Path(scratch) / DUMP
            _extract_one(archive, members[DUMP], dump)
            if _sha256(dump) != manifest["dump_sha256"]:
                raise BackupError(f"{source}: the database dump does not match its checksum.")
            script = Path(scratch) / "restore.sql"
            run_client(
                "pg_restore", ["--no-owner", "--no-privileges", f"--file={script}", str(dump)]
            )
            _refuse_busy_or_full_database(force=force)
            _replace_database(script)
        media = [m for name, m in members.items() if name.startswith(f"{MEDIA}/")]
        _extract_media(archive, media, Path(settings.MEDIA_ROOT))
    call_command("migrate", interactive=False, verbosity=0)
    restored = current_counts()
    expected = manifest["counts"]
    if restored.as_dict() != expected:
        raise BackupError(
            f"The restored database holds {restored.as_dict()}, the backup said {expected}."
        )
    return RestoreResult(
        counts=restored, media_files=len(media), created_at=str(manifest["created_at"])
    )


@contextmanager
def _open_backup(source: Path) -> Iterator[tarfile.TarFile]:
    if not source.is_file():
        raise BackupError(f"{source}: there is no such backup file.")
    try:
        archive = tarfile.open(source, "r:")  # noqa: SIM115 -- closed by the ``with`` below
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{source}: not a backup archive ({exc}).") from exc
    with archive:
        yield archive


def _read_manifest(archive: tarfile.TarFile) -> dict[str, Any]:
    try:
        stream = archive.extractfile(MANIFEST)
        manifest = json.loads(stream.read()) if stream else None
    except (KeyError, ValueError, tarfile.TarError) as exc:
        raise BackupError("The archive has no readable manifest.json; is it a backup?") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"The archive is not a {FORMAT} backup.")
    if not isinstance(manifest.get("counts"), dict) or not isinstance(
        manifest.get("dump_sha256"), str
    ):
        raise BackupError("The backup's manifest lacks its counts or checksum.")
    return manifest


def _checked_members(archive: tarfile.TarFile) -> dict[str, tarfile.TarInfo]:
    """Every member by name, after refusing anything but plain files in known places."""
    members: dict[str, tarfile.TarInfo] = {}
    for member in archive.getmembers():
        path = PurePosixPath(member.name)
        allowed_place = member.name in {MANIFEST, DUMP} or (
            path.parts[0] == MEDIA and len(path.parts) > 1
        )
        if (
            not member.isfile()
            or path.is_absolute()
            or ".." in path.parts
            or not allowed_place
            or not re.fullmatch(r"[^\x00-\x1f\\]+", member.name)
        ):
            raise BackupError(f"The archive holds an unexpected entry: {member.name!r}.")
        members[member.name] = member
    if DUMP not in members:
        raise BackupError("The archive holds no database dump.")
    return members


def _refuse_busy_or_full_database(*, force: bool) -> None:
    with connection.cursor() as cursor:
        cursor.execute(OTHER_SESSIONS_SQL)
        (others,) = cursor.fetchone() or (0,)
    if others:
        raise BackupError(
            f"{others} other session(s) use this database: stop the web server and the "
            "worker (make run / make serve) before restoring."
        )
    if not force and Document._meta.db_table in connection.introspection.table_names():
        counts = current_counts()
        if counts.users or counts.documents or counts.conversations:
            raise BackupError(
                f"This database already holds {counts.describe()}. A restore replaces all "
                "of it; pass --force to do so."
            )
    connection.close()  # our own session must not hold locks on what the restore drops


def _replace_database(script: Path) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as prefix:
        prefix.write(RESTORE_PREFIX)
    try:
        run_client(
            "psql",
            [
                "--no-psqlrc",
                "--quiet",
                "--single-transaction",
                "--set=ON_ERROR_STOP=1",
                f"--file={prefix.name}",
                f"--file={script}",
            ],
        )
    finally:
        Path(prefix.name).unlink(missing_ok=True)


def _extract_one(archive: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    stream = archive.extractfile(member)
    if stream is None:
        raise BackupError(f"The archive's {member.name} cannot be read.")
    target.parent.mkdir(parents=True, exist_ok=True)
    with stream, target.open("wb") as out:
        shutil.copyfileobj(stream, out)


def _extract_media(archive: tarfile.TarFile, members: list[tarfile.TarInfo], root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    resolved_root = root.resolve()
    for member in members:
        relative = PurePosixPath(member.name).relative_to(MEDIA)
        target = (root / Path(*relative.parts)).resolve()
        if not target.is_relative_to(resolved_root):
            raise BackupError(f"The archive's {member.name} would land outside MEDIA_ROOT.")
        _extract_one(archive, member, target)
