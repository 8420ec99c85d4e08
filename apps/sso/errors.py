"""The two ways a sign-in through the identity provider ends without a user."""

from __future__ import annotations

from django.core.exceptions import SuspiciousOperation


class ProviderUnavailable(Exception):
    """The identity provider could not be reached or answered nonsense; a readable sentence.

    The password sign-in never depends on it: only the provider's own pages fail.
    """


class SignInRefused(SuspiciousOperation):
    """The provider's answer does not prove who is signing in (state, nonce, signature,
    audience, expiry…) or this site does not let that account in; a readable sentence."""
