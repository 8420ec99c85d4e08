"""Creating and checking personal API tokens.

A token reads ``qa_<prefix>_<secret>``: the prefix (10 lower-case letters and digits) is
stored in the clear and finds the row; the SHA-256 of the whole token is stored and
compared with ``hmac.compare_digest``. A fast hash is enough: the secret is 256 random
bits, not a password a person chose. ``last_used_at`` is written at most once a minute per
token (one conditional UPDATE), not on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from datetime import timedelta

from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import ApiToken

TOKEN_PREFIX = "qa_"
PREFIX_CHARS = 10
MAX_TOKEN_CHARS = 100
MAX_EXPIRES_DAYS = 3650
LAST_USED_RESOLUTION = timedelta(seconds=60)
_ALPHABET = string.ascii_lowercase + string.digits
_TOKEN = re.compile(rf"^{TOKEN_PREFIX}([a-z0-9]{{{PREFIX_CHARS}}})_[A-Za-z0-9_-]{{20,80}}$")


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _new_prefix() -> str:
    while True:
        prefix = "".join(secrets.choice(_ALPHABET) for _ in range(PREFIX_CHARS))
        if not ApiToken.objects.filter(prefix=prefix).exists():
            return prefix


def create_token(
    user: User, name: str, expires_days: int | None = None, read_only: bool = False
) -> tuple[ApiToken, str]:
    """A new token for ``user``: the stored row and the raw token (shown once, never stored)."""
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRES_DAYS:
        raise ValueError(f"A token expires after 1 to {MAX_EXPIRES_DAYS} days.")
    prefix = _new_prefix()
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
    token = ApiToken.objects.create(
        user=user,
        name=name.strip()[:100] or "API token",
        prefix=prefix,
        secret_hash=hash_token(raw),
        read_only=read_only,
        expires_at=expires_at,
    )
    return token, raw


def authenticate(raw: str) -> ApiToken | None:
    """The usable token ``raw`` names (its user loaded), or None: unknown, malformed,
    expired, revoked, or its user deactivated."""
    if len(raw) > MAX_TOKEN_CHARS:
        return None
    match = _TOKEN.match(raw)
    if match is None:
        return None
    token = ApiToken.objects.usable().select_related("user").filter(prefix=match[1]).first()
    if token is None or not hmac.compare_digest(token.secret_hash, hash_token(raw)):
        return None
    _note_use(token)
    return token


def _note_use(token: ApiToken) -> None:
    """Record the use when the stored time is older than a minute: a write per minute at most."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    stale = now - LAST_USED_RESOLUTION
    never_or_stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale)
    ApiToken.objects.filter(never_or_stale, pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
