"""Which local user a provider account signs in as: found through its identity link,
created at the first sign-in (or linked by verified e-mail when configured), updated at
every sign-in from the claims.

A user name comes from ``preferred_username`` (else the e-mail address, else the name),
made valid for Django; a taken name (any user, any case) gets ``-2``, ``-3``… A local
account is never taken over because a user name or e-mail matches: without
``OIDC_LINK_BY_EMAIL`` the provider account gets a user of its own.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.sso.errors import SignInRefused
from apps.sso.models import OidcIdentity
from apps.sso.text import clean_claim

USERNAME_MAX = 150
_NOT_IN_USERNAME = re.compile(r"[^\w.@+-]+")


def user_for_claims(*, issuer: str, claims: dict[str, Any]) -> User:
    """The user this provider account is (made at its first sign-in), profile updated."""
    subject = clean_claim(claims.get("sub"), limit=255)
    if not subject:
        raise SignInRefused("The identity provider did not say who signed in (no sub claim).")
    identity = (
        OidcIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
    )
    if identity is None:
        identity = _link(issuer=issuer, subject=subject, claims=claims)
    user = identity.user
    if not user.is_active:
        raise SignInRefused("This account is deactivated here; ask an administrator.")
    identity.last_sign_in_at = timezone.now()
    identity.save(update_fields=["last_sign_in_at"])
    _update_profile(user, claims)
    return user


def _link(*, issuer: str, subject: str, claims: dict[str, Any]) -> OidcIdentity:
    user = _user_with_verified_email(claims) if settings.OIDC_LINK_BY_EMAIL else None
    if user is None and not settings.OIDC_CREATE_USERS:
        raise SignInRefused(
            "No account here belongs to your identity-provider account, and accounts are "
            "not created automatically; ask an administrator."
        )
    try:
        with transaction.atomic():
            if user is None:
                user = _create_user(claims)
            return OidcIdentity.objects.create(user=user, issuer=issuer, subject=subject)
    except IntegrityError:
        # The same account's first sign-in in two tabs at once: the other one linked it
        # (or took the same new user name a moment earlier).
        identity = OidcIdentity.objects.select_related("user").filter(
            issuer=issuer, subject=subject
        )
        if found := identity.first():
            return found
        raise SignInRefused("Another sign-in was creating this account; sign in again.") from None


def _user_with_verified_email(claims: dict[str, Any]) -> User | None:
    email = clean_claim(claims.get("email"), limit=254)
    if not email or claims.get("email_verified") not in (True, "true"):
        return None
    matches = list(
        User.objects.filter(email__iexact=email, is_superuser=False, oidc_identities=None)[:2]
    )
    return matches[0] if len(matches) == 1 else None


def _create_user(claims: dict[str, Any]) -> User:
    user = User(username=free_username(_wanted_username(claims)))
    user.set_unusable_password()  # signs in through the provider only
    user.save()
    return user


def _wanted_username(claims: dict[str, Any]) -> str:
    for claim in ("preferred_username", "email", "name"):
        name = unicodedata.normalize("NFKC", clean_claim(claims.get(claim)))
        name = _NOT_IN_USERNAME.sub("-", name).strip("-.")
        if name:
            return name[: USERNAME_MAX - 10]
    return "user"


def free_username(wanted: str) -> str:
    """``wanted``, or ``wanted-2``, ``wanted-3``… whichever no user has (in any case)."""
    for n in range(1, 100):
        candidate = wanted if n == 1 else f"{wanted}-{n}"
        if not User.objects.filter(username__iexact=candidate).exists():
            return candidate
    return f"{wanted}-{secrets.token_hex(4)}"


def _update_profile(user: User, claims: dict[str, Any]) -> None:
    email = clean_claim(claims.get("email"), limit=254)
    user.email = email if "@" in email else user.email
    user.first_name = clean_claim(claims.get("given_name"), limit=150) or user.first_name
    user.last_name = clean_claim(claims.get("family_name"), limit=150) or user.last_name
    user.save(update_fields=["email", "first_name", "last_name"])
