"""The questions asked through the API in the last minutes, for the ask rate limit."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.accounts.models import ApiToken


class AskRecord(models.Model):
    """One question asked with a token (kept a few minutes: ``apps/api/ratelimit.py``).

    In PostgreSQL rather than a per-process cache: gunicorn runs several processes, and
    the limit holds across them.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token = models.ForeignKey(ApiToken, on_delete=models.SET_NULL, null=True, related_name="+")
    asked_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "asked_at"], name="api_ask_user_time"),
            models.Index(fields=["token", "asked_at"], name="api_ask_token_time"),
        ]

    def __str__(self) -> str:
        return f"ask by user {self.user_id} at {self.asked_at:%H:%M:%S}"
