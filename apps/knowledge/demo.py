"""The demo world that `make run` creates: a staff user and a small knowledge base."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser

from apps.knowledge.models import Document, KnowledgeBase
from apps.knowledge.uploads import add_file_document

DEMO_USERNAME = "demo"
DEMO_KNOWLEDGE_BASE = "Lumen Labs handbook (demo)"
DEMO_DOCUMENTS_DIR = Path(settings.BASE_DIR) / "demo" / "documents"


@dataclass(frozen=True)
class DemoWorld:
    user: AbstractUser
    password: str
    knowledge_base: KnowledgeBase
    documents: list[Document]


def demo_password() -> str:
    """``DEMO_PASSWORD`` if set, else one generated once and kept under var/."""
    configured = str(getattr(settings, "DEMO_PASSWORD", ""))
    if configured:
        return configured
    path = Path(settings.VAR_DIR) / "demo_password"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return path.read_text().strip()


def ensure_demo_world(*, documents_dir: Path = DEMO_DOCUMENTS_DIR) -> DemoWorld:
    """Create (or reuse) the demo user, knowledge base and documents; idempotent."""
    password = demo_password()
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=DEMO_USERNAME)
    user.is_staff = True
    user.is_superuser = True
    user.set_password(password)
    user.save()
    knowledge_base, _ = KnowledgeBase.objects.get_or_create(
        name=DEMO_KNOWLEDGE_BASE,
        defaults={
            "owner": user,
            "shared_with_all": True,
            "description": "Policies, runbooks and FAQs of a fictional company, written for the demo.",
        },
    )
    documents = [
        add_file_document(knowledge_base=knowledge_base, filename=path.name, data=path.read_bytes())
        for path in sorted(documents_dir.iterdir())
        if path.is_file()
    ]
    return DemoWorld(user, password, knowledge_base, documents)
