from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User

from apps.knowledge.demo import DemoWorld, ensure_demo_world
from apps.knowledge.indexing import index_document
from apps.knowledge.models import KnowledgeBase
from tests.oidc_provider.fixtures import oidc_provider_fixture, sso_fixture  # noqa: F401
from tests.servers import serve_app

# The OpenID provider process (oidc_provider, session-scoped) is defined once, here, so that
# the sign-in tests of every module share one.

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "demo" / "documents"


@pytest.fixture(scope="session")
def app_server_url() -> Iterator[str]:
    """The app, including its local provider, served over real HTTP for the whole session."""
    with serve_app() as url:
        yield url


@pytest.fixture(autouse=True)
def _model_api_on_local_provider(settings, app_server_url: str, tmp_path: Path) -> None:
    """Point every model call at the real local provider, over HTTP."""
    base = f"{app_server_url}/local/v1"
    settings.EMBEDDINGS_BASE_URL = base
    settings.RERANK_BASE_URL = base
    settings.CHAT_BASE_URL = base
    settings.TRANSCRIPTION_BASE_URL = base
    settings.EMBEDDINGS_API_KEY = settings.RERANK_API_KEY = settings.CHAT_API_KEY = ""
    settings.TRANSCRIPTION_API_KEY = ""
    settings.TRANSCRIPTION_MODEL = "whisper-tiny.en"
    settings.EMBEDDING_MODEL = "all-MiniLM-L6-v2"
    settings.RERANK_MODEL = "local-rerank"
    settings.CHAT_MODEL = "local-extractive"
    settings.MODEL_API_MAX_RETRIES = 1
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def alice(db) -> User:
    return User.objects.create_user("alice", password="alice-password", is_staff=True)


@pytest.fixture
def bob(db) -> User:
    return User.objects.create_user("bob", password="bob-password")


@pytest.fixture
def charlie(db) -> User:
    return User.objects.create_user("charlie", password="charlie-password")


@pytest.fixture
def team_b(db) -> Group:
    return Group.objects.create(name="team-b")


@pytest.fixture
def knowledge_base(alice: User) -> KnowledgeBase:
    return KnowledgeBase.objects.create(name="Alice's base", owner=alice)


@pytest.fixture
def demo_world(db) -> DemoWorld:
    """The demo knowledge base, fully indexed through the local provider."""
    world = ensure_demo_world(documents_dir=DEMO_DIR)
    for document in world.documents:
        assert index_document(document_id=document.pk).outcome == "indexed"
    return world


@pytest.fixture
def start_worker(settings, app_server_url: str) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start real ``ingest_worker`` processes on the test database; stopped at the end."""
    from django.db import connection

    started: list[subprocess.Popen[bytes]] = []

    def start(**overrides: str) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "EMBEDDED_DB_NAME": connection.settings_dict["NAME"],
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "EMBEDDINGS_BASE_URL": f"{app_server_url}/local/v1",
            "MODEL_API_MAX_RETRIES": "0",
            **overrides,
        }
        command = [sys.executable, "manage.py", "ingest_worker", "--no-reload"]
        command += ["--interval", "0.2", "--no-startup-delay"]
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
