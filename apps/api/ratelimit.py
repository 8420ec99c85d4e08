"""How many questions a token and its user may ask per minute (every ask can cost money
at the model provider).

A sliding window of one minute over ``AskRecord`` rows in PostgreSQL, so every gunicorn
process sees the same counts. The user's row is locked (``SELECT … FOR UPDATE``) while one
ask is counted and recorded, so two concurrent asks of the same user cannot both take the
last place. ``API_ASK_RATE_PER_MINUTE`` limits each token, ``API_ASK_USER_RATE_PER_MINUTE``
all tokens of one user together; 0 turns a limit off.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import ApiToken
from apps.api.errors import ApiError
from apps.api.models import AskRecord

WINDOW = timedelta(minutes=1)


class RateLimited(ApiError):
    """429 with ``Retry-After``: whole seconds until the oldest counted ask leaves the window."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(
            429,
            message,
            code="rate_limit_exceeded",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


def _retry_after(oldest: datetime, now: datetime) -> int:
    return max(1, math.ceil((oldest + WINDOW - now).total_seconds()))


def _refuse_when_full(asks: list[datetime], limit: int, now: datetime, whose: str) -> None:
    if limit > 0 and len(asks) >= limit:
        wait = _retry_after(asks[-limit], now)
        raise RateLimited(
            f"{whose} may ask {limit} questions per minute; try again in {wait} seconds.",
            retry_after=wait,
        )


def check_ask_allowed(token: ApiToken) -> None:
    """Count one ask for ``token`` (and its user), or raise ``RateLimited`` (nothing counted).

    Call it once per question, before the model is asked.
    """
    per_token = int(settings.API_ASK_RATE_PER_MINUTE)
    per_user = int(settings.API_ASK_USER_RATE_PER_MINUTE)
    now = timezone.now()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=token.user_id).values_list("pk").first()
        recent = AskRecord.objects.filter(user_id=token.user_id, asked_at__gt=now - WINDOW)
        user_asks = sorted(recent.values_list("asked_at", flat=True))
        token_asks = sorted(recent.filter(token=token).values_list("asked_at", flat=True))
        _refuse_when_full(token_asks, per_token, now, "This token")
        _refuse_when_full(user_asks, per_user, now, "Your tokens together")
        AskRecord.objects.filter(user_id=token.user_id, asked_at__lte=now - WINDOW).delete()
        AskRecord.objects.create(user_id=token.user_id, token=token, asked_at=now)
