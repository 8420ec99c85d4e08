"""What the end-to-end benchmarks share: the bench environment, gunicorn processes, the
indexed demo knowledge base and signed-in sessions.

Import ``configure_environment()`` before ``django.setup()``: it points the settings at the
bench's own database (``EMBEDDED_DB_NAME=bench_load``) and production mode (DEBUG=0, over
plain HTTP on loopback: no TLS redirect, no secure-only cookies).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
RESULTS = ROOT / "bench" / "results"
DB_NAME = "bench_load"
LOG_DIR = ROOT / "var" / "bench-logs"

BENCH_ENV = {
    "EMBEDDED_DB_NAME": DB_NAME,
    "DJANGO_DEBUG": "0",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "DJANGO_SECURE_COOKIES": "0",
    "DJANGO_HSTS_SECONDS": "0",
    "APP_LOG_LEVEL": "WARNING",
    "MODEL_API_MAX_RETRIES": "0",
}


def configure_environment() -> None:
    """The bench settings for this process and every process it starts."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qa_site.settings")
    os.environ.update(BENCH_ENV)
    # One key for the bench process and the servers, so that the sessions made here hold there.
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def model_env(base_url: str, *, local: bool) -> dict[str, str]:
    """Every model call of the app to ``base_url`` (the local provider or the fake server)."""
    env = {
        "EMBEDDINGS_BASE_URL": base_url,
        "RERANK_BASE_URL": base_url,
        "CHAT_BASE_URL": base_url,
        "EMBEDDINGS_API_KEY": "",
        "RERANK_API_KEY": "",
        "CHAT_API_KEY": "",
        "EMBEDDING_MODEL": "all-MiniLM-L6-v2",
        "RERANK_MODEL": "local-rerank",
        "CHAT_MODEL": "local-extractive",
        "RERANK_DIALECT": "groq",
    }
    if not local:
        env["CITATION_MODE"] = "documents"
    return env


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    command: list[str]


def gunicorn_command(port: int, *, workers: int, threads: int, keepalive: int) -> list[str]:
    """gthread workers. ``keepalive`` 0 closes each connection after its response, as behind a
    reverse proxy: gunicorn 23's gthread loop re-arms a kept-alive connection only when its
    ``select(1.0)`` wakes, so a client that sends its next request at once (the app calling
    its model server: embed, rerank, chat) can wait up to a second for nothing."""
    return [
        GUNICORN,
        "qa_site.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--timeout",
        "120",
        "--keep-alive",
        str(keepalive),
    ]


def start_gunicorn(
    name: str, *, workers: int, threads: int, env: dict[str, str], keepalive: int = 0
) -> Server:
    """The whole app under gunicorn (gthread workers) on a free loopback port; waits until up."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = gunicorn_command(port, workers=workers, threads=threads, keepalive=keepalive)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = (LOG_DIR / f"{name}.log").open("wb")
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "SITE_URL": url, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_until_up(f"{url}/login/", process)
    return Server(process, url, command)


def start_fake_model_server() -> Server:
    port = free_port()
    command = [PYTHON, str(ROOT / "bench" / "fake_model_server.py"), "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/openai/v1"
    wait_until_up(f"{url}/models", process)
    return Server(process, url, command)


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def stop(server: Server) -> None:
    """One SIGTERM (a second would interrupt the clean exit that releases the database)."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def prepare_database() -> None:
    """Migrate the bench database and collect the static files that whitenoise serves."""
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def index_demo_world(provider_url: str) -> tuple[int, int]:
    """The demo knowledge base, indexed through the local provider at ``provider_url`` the
    way tests/conftest.py's ``demo_world`` does. Returns (documents, chunks)."""
    from django.conf import settings

    from apps.knowledge.demo import ensure_demo_world
    from apps.knowledge.indexing import index_document
    from apps.knowledge.models import Chunk, Document

    for key, value in model_env(provider_url, local=True).items():
        setattr(settings, key, value)
    world = ensure_demo_world(documents_dir=ROOT / "demo" / "documents")
    for document in world.documents:
        document.refresh_from_db()
        if document.status != Document.Status.READY:
            outcome = index_document(document_id=document.pk).outcome
            if outcome != "indexed":
                raise RuntimeError(f"{document.title}: {outcome}")
    chunks = Chunk.objects.filter(knowledge_base=world.knowledge_base).count()
    return len(world.documents), chunks


def signed_in_sessions(count: int) -> list[str]:
    """Session ids of ``count`` distinct signed-in users (made by Django's session backend, as
    a sign-in would, without paying the password hash during the measured window)."""
    from django.contrib.auth.models import User
    from django.test import Client

    sessions = []
    for i in range(count):
        user, created = User.objects.get_or_create(username=f"bench-user-{i}")
        if created:
            user.set_unusable_password()
            user.save()
        client = Client()
        client.force_login(user)
        sessions.append(client.cookies["sessionid"].value)
    return sessions


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def wait_for_quiet(threshold: float = 1.5, poll_seconds: int = 30, max_wait: int = 600) -> dict:
    """Wait (up to ``max_wait`` s) for the 1-minute load average to fall to ``threshold``."""
    waited = 0
    while os.getloadavg()[0] > threshold and waited < max_wait:
        print(f"load average {os.getloadavg()[0]:.2f} > {threshold}; waiting {poll_seconds} s")
        time.sleep(poll_seconds)
        waited += poll_seconds
    return {"threshold": threshold, "waited_s": waited, "loadavg_at_start": load_average()}
