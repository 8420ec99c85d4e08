"""Knowledge bases and the access rule beside them."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, Group
from django.db import models
from django.db.models import Q

from apps.knowledge.lexical import TextSearchLanguage


class KnowledgeBaseQuerySet(models.QuerySet["KnowledgeBase"]):
    """Who may read and who may change which knowledge base: the one access rule, used by
    every path (pages, admin, retrieval SQL, conversations). Evaluated on every request, so a
    change of groups or a deactivation applies at once."""

    def readable_by(self, user: AbstractBaseUser | AnonymousUser) -> KnowledgeBaseQuerySet:
        """Owned, shared with everyone, or with one of the user's groups (superusers: all)."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if getattr(user, "is_superuser", False):
            return self.all()
        return self.filter(
            Q(owner_id=user.pk) | Q(shared_with_all=True) | Q(groups__user=user.pk)
        ).distinct()

    def readable_ids(
        self, user: AbstractBaseUser | AnonymousUser, *, requested: list[int] | None = None
    ) -> list[int]:
        """The readable ids, narrowed to ``requested`` when given (unknown ids are dropped)."""
        ids = set(self.readable_by(user).values_list("pk", flat=True))
        if requested is not None:
            ids &= set(requested)
        return sorted(ids)

    def manageable_by(self, user: AbstractBaseUser | AnonymousUser) -> KnowledgeBaseQuerySet:
        """Knowledge bases ``user`` may change: superusers all, other staff their own."""
        if not user.is_authenticated or not user.is_active or not getattr(user, "is_staff", False):
            return self.none()
        if getattr(user, "is_superuser", False):
            return self.all()
        return self.filter(owner_id=user.pk)


class KnowledgeBase(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_knowledge_bases"
    )
    shared_with_all = models.BooleanField(
        default=False, help_text="Every signed-in user may read this knowledge base."
    )
    groups = models.ManyToManyField(
        Group, blank=True, related_name="knowledge_bases", help_text="Groups that may read it."
    )
    language = models.CharField(
        max_length=32,
        choices=TextSearchLanguage.choices,
        default=TextSearchLanguage.ENGLISH,
        help_text="How words are stemmed for text search (changing it re-indexes the text).",
    )
    embedding_model = models.CharField(max_length=200, blank=True)
    embedding_dimensions = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = KnowledgeBaseQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
