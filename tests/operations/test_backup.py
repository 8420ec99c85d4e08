"""Backup and restore: a backup of the suite's database restored into an empty install (a new
database on the embedded server, migrated by ``manage.py migrate`` in its own process, with
its own MEDIA_ROOT) holds the same documents, passages, conversations and original files.
The restore refuses archives that are not whole and databases it would overwrite by accident."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection

from apps.chat.models import Conversation, Message
from apps.knowledge.indexing import index_document
from apps.knowledge.models import Chunk, Document, KnowledgeBase
from apps.knowledge.uploads import add_upload
from apps.operations.backup import BackupError, restore_backup
from apps.operations.pgclient import ClientError, client_binary

ROOT = Path(__file__).resolve().parents[2]
RESTORED_DB = f"{os.environ.get('TEST_DATABASE_NAME', 'test_qa_site')}_restored"
RUNBOOK = "\n\n".join(
    f"Step {i}: rotate the on-call pager to the {['east', 'west'][i % 2]} team and log it."
    for i in range(12)
).encode()
PDF_LIKE = b"%PDF-1.4 not really a PDF \x00\x01\x02" * 50  # fails extraction; its file is kept


def _server(dbname: str = "postgres") -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=connection.settings_dict["HOST"], user="postgres", dbname=dbname, autocommit=True
    )


def _rows(dbname: str, sql: str) -> list[tuple[Any, ...]]:
    with _server(dbname) as conn:
        return conn.execute(sql).fetchall()


def _manage(*args: str, media_root: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"TEST_DATABASE_NAME", "DATABASE_URL"}}
    env |= {"EMBEDDED_DB_NAME": RESTORED_DB, "MEDIA_ROOT": str(media_root), **extra}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def empty_install(tmp_path: Path) -> Iterator[Path]:
    """A new, migrated database on the embedded server and an empty MEDIA_ROOT for it."""
    with _server() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{RESTORED_DB}" WITH (FORCE)')
    media_root = tmp_path / "restored-media"
    migrated = _manage("migrate", "--noinput", media_root=media_root)
    assert migrated.returncode == 0, migrated.stderr
    yield media_root
    with _server() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{RESTORED_DB}" WITH (FORCE)')


@pytest.fixture
def stored_world(knowledge_base: KnowledgeBase, alice: User) -> dict[str, Any]:
    """An indexed document, a failed one (its original kept), and a conversation citing one."""
    [ok] = add_upload(knowledge_base=knowledge_base, filename="pager.md", data=RUNBOOK)
    [broken] = add_upload(knowledge_base=knowledge_base, filename="scan.pdf", data=PDF_LIKE)
    assert ok.document is not None and broken.document is not None
    assert index_document(document_id=ok.document.pk).outcome == "indexed"
    index_document(document_id=broken.document.pk)
    conversation = Conversation.objects.create(user=alice, title="Pager rotation")
    conversation.knowledge_bases.add(knowledge_base)
    chunk = Chunk.objects.filter(document=ok.document).order_by("ordinal").first()
    assert chunk is not None
    Message.objects.create(conversation=conversation, role="user", content="Who is on call?")
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        content="The east team [1].",
        citations=[{"number": 1, "chunk_id": chunk.pk, "document_id": ok.document.pk}],
    )
    return {"documents": [ok.document, broken.document]}


DOCUMENTS_SQL = "SELECT id, title, status, file, error FROM knowledge_document ORDER BY id"
PASSAGES_SQL = (
    "SELECT id, document_id, ordinal, text, embedding::text FROM knowledge_chunk ORDER BY id"
)
CONVERSATIONS_SQL = (
    "SELECT c.id, c.title, u.username, m.role, m.content, m.citations::text "
    "FROM chat_conversation c JOIN auth_user u ON u.id = c.user_id "
    "JOIN chat_message m ON m.conversation_id = c.id ORDER BY m.id"
)


@pytest.mark.django_db(transaction=True)
def test_a_backup_restored_into_an_empty_install_has_the_same_documents_passages_and_conversations(
    stored_world: dict[str, Any],
    empty_install: Path,
    settings,
    tmp_path: Path,
    app_server_url: str,
) -> None:
    archive = tmp_path / "backup.tar"
    call_command("backup", "--output", str(archive), stdout=io.StringIO(), stderr=io.StringIO())
    here = connection.settings_dict["NAME"]
    expected = {sql: _rows(here, sql) for sql in (DOCUMENTS_SQL, PASSAGES_SQL, CONVERSATIONS_SQL)}
    assert len(expected[DOCUMENTS_SQL]) == 2 and expected[PASSAGES_SQL]
    assert len(expected[CONVERSATIONS_SQL]) == 2

    restored = _manage("restore", str(archive), media_root=empty_install)

    assert restored.returncode == 0, restored.stderr
    assert "2 documents" in restored.stdout and "2 stored files" in restored.stdout
    for sql, rows in expected.items():
        assert _rows(RESTORED_DB, sql) == rows
    for document in stored_world["documents"]:
        original = Path(settings.MEDIA_ROOT) / document.file.name
        assert (empty_install / document.file.name).read_bytes() == original.read_bytes()
    # The restored install answers from its own process: vectors, lexical index, permissions.
    found = _manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; from apps.search.retrieval import retrieve; "
        "r = retrieve(user=User.objects.get(username='alice'), question='who gets the pager?'); "
        "print(r.passages[0].document_title if r.passages else 'nothing')",
        media_root=empty_install,
        EMBEDDINGS_BASE_URL=f"{app_server_url}/local/v1",
        RERANK_BASE_URL=f"{app_server_url}/local/v1",
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip().splitlines()[-1] == "pager.md"


@pytest.mark.django_db(transaction=True)
def test_a_restore_refuses_an_install_that_holds_data_unless_forced(
    stored_world: dict[str, Any], empty_install: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "backup.tar"
    call_command("backup", "--output", str(archive), stdout=io.StringIO(), stderr=io.StringIO())
    assert _manage("restore", str(archive), media_root=empty_install).returncode == 0

    again = _manage("restore", str(archive), media_root=empty_install)
    assert again.returncode != 0
    assert "already holds 2 documents" in again.stderr and "--force" in again.stderr
    forced = _manage("restore", str(archive), "--force", media_root=empty_install)
    assert forced.returncode == 0, forced.stderr
    assert _rows(RESTORED_DB, "SELECT count(*) FROM knowledge_document") == [(2,)]


@pytest.mark.django_db(transaction=True)
def test_a_restore_refuses_a_database_that_a_running_server_uses(
    stored_world: dict[str, Any], tmp_path: Path
) -> None:
    archive = tmp_path / "backup.tar"
    call_command("backup", "--output", str(archive), stdout=io.StringIO(), stderr=io.StringIO())
    # Another session on the database, as a running web process holds.
    with (
        _server(connection.settings_dict["NAME"]),
        pytest.raises(BackupError, match="other session.*stop the web server"),
    ):
        restore_backup(archive, force=True)
    assert Document.objects.count() == 2


def _tamper(archive: Path, target: Path, change: str) -> None:
    with tarfile.open(archive) as source, tarfile.open(target, "w") as out:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if change == "dump" and member.name == "database.dump":
                data = data[:-10] + b"0" * 10
            if change == "manifest" and member.name == "manifest.json":
                data = json.dumps({**json.loads(data), "format": "something-else"}).encode()
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
        if change == "escape":
            evil = tarfile.TarInfo("media/../../escaped.txt")
            evil.size = 3
            out.addfile(evil, io.BytesIO(b"bad"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("dump", "does not match its checksum"),
        ("manifest", "is not a qa-site-backup/1 backup"),
        ("escape", "unexpected entry: 'media/../../escaped.txt'"),
    ],
)
def test_a_damaged_or_hostile_archive_is_refused_before_the_database_is_touched(
    stored_world: dict[str, Any], tmp_path: Path, change: str, message: str
) -> None:
    archive, damaged = tmp_path / "backup.tar", tmp_path / "damaged.tar"
    call_command("backup", "--output", str(archive), stdout=io.StringIO(), stderr=io.StringIO())
    _tamper(archive, damaged, change)
    with pytest.raises(CommandError, match=message):
        call_command("restore", str(damaged), "--force")
    assert Document.objects.count() == 2
    assert not (tmp_path.parent / "escaped.txt").exists()


@pytest.mark.django_db
def test_a_file_that_is_not_a_backup_is_refused_with_a_reason(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not an archive")
    with pytest.raises(CommandError, match="not a backup archive"):
        call_command("restore", str(junk))
    with pytest.raises(CommandError, match="no such backup file"):
        call_command("restore", str(tmp_path / "missing.tar"))


@pytest.mark.django_db
def test_a_backup_never_overwrites_an_existing_file(tmp_path: Path) -> None:
    existing = tmp_path / "backup.tar"
    existing.write_bytes(b"keep me")
    with pytest.raises(CommandError, match="already exists"):
        call_command("backup", "--output", str(existing))
    assert existing.read_bytes() == b"keep me"


@pytest.mark.django_db
def test_the_client_programs_match_the_server_major_version() -> None:
    server_major = connection.pg_version // 10000
    binary = client_binary("pg_dump", server_major=server_major)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    assert f" {server_major}." in version
    with pytest.raises(ClientError, match="No pg_dump of PostgreSQL 99 or newer"):
        client_binary("pg_dump", server_major=99)
