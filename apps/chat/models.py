"""Conversations and their messages; each belongs to one user."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models

from apps.knowledge.models import KnowledgeBase


class Conversation(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    title = models.CharField(max_length=200)
    knowledge_bases = models.ManyToManyField(KnowledgeBase, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # A read-only link (/shared/<token>/) for signed-in colleagues; null when not shared.
    share_token = models.CharField(max_length=43, unique=True, null=True, blank=True)
    shared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.title


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    content = models.TextField()
    # Normalised citations: [{number, start, end, chunk_id, document_id, title, page, url, text}]
    citations = models.JSONField(default=list, blank=True)
    # Passages sent to the model (for "more context" and auditing): [{chunk_id, title, ...}]
    retrieved = models.JSONField(default=list, blank=True)
    model_name = models.CharField(max_length=200, blank=True)
    usage = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # The knowledge bases an answer was asked of (a follow-up may ask others than the first
    # question did); the insight pages count answers per base by it.
    knowledge_base_ids = ArrayField(models.IntegerField(), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [GinIndex(fields=["knowledge_base_ids"], name="message_bases_gin")]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:40]}"

    @property
    def citation_list(self) -> list[dict[str, Any]]:
        return list(self.citations or [])


class Feedback(models.Model):
    """A user's thumbs up or down, with an optional comment, on one answer."""

    class Rating(models.IntegerChoices):
        UP = 1, "Helpful"
        DOWN = -1, "Not helpful"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="answer_feedback"
    )
    rating = models.SmallIntegerField(choices=Rating.choices)
    comment = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["message", "user"], name="one_feedback_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.get_rating_display()} on answer {self.message_id}"
