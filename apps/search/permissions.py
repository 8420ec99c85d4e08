"""Who may read which knowledge base: the one rule every retrieval path goes through."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet

from apps.knowledge.models import KnowledgeBase


def readable_knowledge_bases(user: AbstractBaseUser | AnonymousUser) -> QuerySet[KnowledgeBase]:
    """Knowledge bases ``user`` may read: owned, shared with everyone, or with one of their groups.

    Evaluated on every request, so a change of groups or a deactivation applies at once.
    """
    if not user.is_authenticated or not user.is_active:
        return KnowledgeBase.objects.none()
    if getattr(user, "is_superuser", False):
        return KnowledgeBase.objects.all()
    return KnowledgeBase.objects.filter(
        Q(owner_id=user.pk) | Q(shared_with_all=True) | Q(groups__user=user.pk)
    ).distinct()


def readable_knowledge_base_ids(
    user: AbstractBaseUser | AnonymousUser, *, requested: list[int] | None = None
) -> list[int]:
    """The readable ids, narrowed to ``requested`` when given (unknown ids are dropped)."""
    ids = set(readable_knowledge_bases(user).values_list("pk", flat=True))
    if requested is not None:
        ids &= set(requested)
    return sorted(ids)


def manageable_knowledge_bases(user: AbstractBaseUser | AnonymousUser) -> QuerySet[KnowledgeBase]:
    """Knowledge bases ``user`` may change: superusers all, other staff their own."""
    if not user.is_authenticated or not user.is_active or not getattr(user, "is_staff", False):
        return KnowledgeBase.objects.none()
    if getattr(user, "is_superuser", False):
        return KnowledgeBase.objects.all()
    return KnowledgeBase.objects.filter(owner_id=user.pk)
