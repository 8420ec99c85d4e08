"""Knowledge bases and the access rule beside them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, Group
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.knowledge.lexical import TextSearchLanguage

INSTRUCTIONS_MAX_CHARS = 2000
MAX_PASSAGES_TO_MODEL = 30


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
            Q(owner_id=user.pk)
            | Q(shared_with_all=True)
            | Q(groups__user=user.pk)
            | Q(editor_groups__user=user.pk)
        ).distinct()

    def readable_ids(
        self, user: AbstractBaseUser | AnonymousUser, *, requested: list[int] | None = None
    ) -> list[int]:
        """The readable ids, narrowed to ``requested`` when given (unknown ids are dropped)."""
        ids = set(self.readable_by(user).values_list("pk", flat=True))
        if requested is not None:
            ids &= set(requested)
        return sorted(ids)

    def editable_by(self, user: AbstractBaseUser | AnonymousUser) -> KnowledgeBaseQuerySet:
        """Knowledge bases whose documents and web sources ``user`` may add, re-index and
        delete: those they manage, and those whose editor groups they are in. Editors do not
        change settings or sharing (``manageable_by``)."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if getattr(user, "is_superuser", False):
            return self.all()
        editor = Q(editor_groups__user=user.pk)
        if getattr(user, "is_staff", False):
            editor |= Q(owner_id=user.pk)
        return self.filter(editor).distinct()

    def manageable_by(self, user: AbstractBaseUser | AnonymousUser) -> KnowledgeBaseQuerySet:
        """Knowledge bases whose settings and sharing ``user`` may change: superusers all,
        other staff their own."""
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
    editor_groups = models.ManyToManyField(
        Group,
        blank=True,
        related_name="edited_knowledge_bases",
        help_text="Groups that may read it and add, re-index and delete its documents.",
    )
    instructions = models.TextField(
        blank=True,
        max_length=INSTRUCTIONS_MAX_CHARS,
        help_text="Added to the model's instructions for questions to this base; readers see it.",
    )
    passages_to_model = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_PASSAGES_TO_MODEL)],
        help_text="Passages sent with each question (empty: the server's RETRIEVAL_TOP_N).",
    )
    rerank = models.BooleanField(
        default=True, help_text="Reorder the candidates through /reranking before answering."
    )
    readers_may_download = models.BooleanField(
        default=True,
        help_text="Readers may download original files (the viewer and previews work either way).",
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

    def is_managed_by(self, user: AbstractBaseUser | AnonymousUser) -> bool:
        """``manageable_by`` for this one row, without a query (the same rule)."""
        if not user.is_authenticated or not user.is_active or not getattr(user, "is_staff", False):
            return False
        return bool(getattr(user, "is_superuser", False) or self.owner_id == user.pk)


@dataclass(frozen=True)
class AskingProfile:
    """How a question to some knowledge bases is answered, from their settings: the most
    passages any of them asks for, reranking when any of them keeps it on, and each base's
    instructions for the model (name, text)."""

    top_n: int | None
    rerank: bool
    instructions: tuple[tuple[str, str], ...]


def asking_profile(knowledge_base_ids: Sequence[int]) -> AskingProfile:
    """The profile of these (already permission-checked) bases; one query."""
    rows = list(
        KnowledgeBase.objects.filter(pk__in=knowledge_base_ids)
        .order_by("name")
        .values_list("name", "instructions", "passages_to_model", "rerank")
    )
    counts = [count for _, _, count, _ in rows if count]
    return AskingProfile(
        top_n=max(counts) if counts else None,
        rerank=any(rerank for *_, rerank in rows) if rows else True,
        instructions=tuple((name, text.strip()) for name, text, _, _ in rows if text.strip()),
    )
