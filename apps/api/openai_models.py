"""Knowledge bases as OpenAI-compatible models: ``kb-<id>`` for one base, ``all`` for every
base the caller may read.

The id is the knowledge base's primary key, not a slug of its name: a base can be renamed,
and a client's configured model must keep working (and a slug would change with it). The
name travels in the model object's ``name`` field, which SDKs keep as an extra attribute.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from apps.knowledge.models import KnowledgeBase

ALL_MODEL = "all"
MODEL_PREFIX = "kb-"
OWNED_BY = "knowledge-base"
_MODEL_ID = re.compile(r"kb-([1-9][0-9]{0,17})")


def model_id(knowledge_base: KnowledgeBase) -> str:
    return f"{MODEL_PREFIX}{knowledge_base.pk}"


def _model_json(
    identifier: str, *, created: int, name: str, description: str = ""
) -> dict[str, Any]:
    return {
        "id": identifier,
        "object": "model",
        "created": created,
        "owned_by": OWNED_BY,
        "name": name,
        "description": description,
    }


def knowledge_base_model(knowledge_base: KnowledgeBase) -> dict[str, Any]:
    return _model_json(
        model_id(knowledge_base),
        created=int(knowledge_base.created_at.timestamp()),
        name=knowledge_base.name,
        description=knowledge_base.description,
    )


def all_bases_model(readable: list[KnowledgeBase]) -> dict[str, Any]:
    created = min((int(kb.created_at.timestamp()) for kb in readable), default=0)
    return _model_json(
        ALL_MODEL,
        created=created,
        name="All my knowledge bases",
        description="Every knowledge base this token may read.",
    )


def readable_models(user: AbstractBaseUser | AnonymousUser) -> list[dict[str, Any]]:
    """``all`` first, then one model per readable knowledge base, by name."""
    readable = list(KnowledgeBase.objects.readable_by(user).order_by("name"))
    return [all_bases_model(readable), *(knowledge_base_model(kb) for kb in readable)]


def readable_model(
    user: AbstractBaseUser | AnonymousUser, identifier: str
) -> dict[str, Any] | None:
    """The model object of ``identifier``, or ``None`` when it is unknown or not readable
    (the same answer for both, so that ids reveal nothing)."""
    if identifier == ALL_MODEL:
        return all_bases_model(list(KnowledgeBase.objects.readable_by(user)))
    match = _MODEL_ID.fullmatch(identifier)
    if match is None:
        return None
    found = KnowledgeBase.objects.readable_by(user).filter(pk=int(match.group(1))).first()
    return knowledge_base_model(found) if found is not None else None


def knowledge_base_ids(user: AbstractBaseUser | AnonymousUser, identifier: str) -> list[int] | None:
    """The readable knowledge bases a model stands for; ``None`` for an unknown or unreadable
    model. ``all`` may stand for none (a user who reads no base can still ask about the
    request's own documents)."""
    if identifier == ALL_MODEL:
        return KnowledgeBase.objects.readable_ids(user)
    match = _MODEL_ID.fullmatch(identifier)
    if match is None:
        return None
    ids = KnowledgeBase.objects.readable_ids(user, requested=[int(match.group(1))])
    return ids or None


def unknown_model_message(identifier: str) -> str:
    shown = identifier if len(identifier) <= 100 else identifier[:100] + "…"
    return (
        f"The model `{shown}` does not exist or you do not have access to it. "
        "GET /api/v1/openai/models lists the models you can use."
    )
