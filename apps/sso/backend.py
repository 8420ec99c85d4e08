"""The authentication backend of the provider's callback (mozilla-django-oidc's, narrowed).

It authenticates only the callback's call (which passes the sign-in's ``nonce``): a password
sign-in never reaches the provider. Endpoints come from the discovery document instead of
settings, the ID token is checked by ``apps.sso.idtoken``, and the user is found through
its identity link (``apps.sso.users``), never by e-mail as the library would.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from apps.sso.discovery import ProviderMetadata, provider_metadata
from apps.sso.errors import ProviderUnavailable, SignInRefused
from apps.sso.groups import sync_groups
from apps.sso.idtoken import verify_id_token
from apps.sso.users import user_for_claims

logger = logging.getLogger(__name__)

# Claims about the token itself, which the userinfo answer must not replace.
_TOKEN_CLAIMS = frozenset({"iss", "aud", "exp", "iat", "nbf", "nonce", "azp", "at_hash"})


class OidcBackend(OIDCAuthenticationBackend):  # type: ignore[misc]  # the library is untyped
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The library reads its endpoints from settings here, for every sign-in of any kind;
        # ours come from discovery, and only when the provider's callback asks.
        self.UserModel = get_user_model()
        self.request: HttpRequest | None = None

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        if request is None or "nonce" not in kwargs or not settings.OIDC_ENABLED:
            return None
        code, state = request.GET.get("code"), request.GET.get("state")
        if not code or not state:
            return None
        self.request = request
        metadata = provider_metadata()
        self._use_endpoints(metadata)
        tokens = self._exchange(request, code=code, code_verifier=kwargs.get("code_verifier"))
        id_token = str(tokens.get("id_token") or "")
        claims = verify_id_token(id_token, nonce=kwargs.get("nonce"))
        claims = self._with_userinfo(claims, access_token=str(tokens.get("access_token") or ""))
        self.store_tokens(tokens.get("access_token"), id_token)
        with transaction.atomic():
            user = user_for_claims(issuer=metadata.issuer, claims=claims)
            sync_groups(user, claims)
        return user

    def _use_endpoints(self, metadata: ProviderMetadata) -> None:
        self.OIDC_OP_TOKEN_ENDPOINT = metadata.token_endpoint
        self.OIDC_OP_USER_ENDPOINT = metadata.userinfo_endpoint
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET

    def _exchange(
        self, request: HttpRequest, *, code: str, code_verifier: str | None
    ) -> dict[str, Any]:
        """The authorization code (with the PKCE verifier) traded for the tokens."""
        payload = {
            "client_id": self.OIDC_RP_CLIENT_ID,
            "client_secret": self.OIDC_RP_CLIENT_SECRET,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request.build_absolute_uri(reverse("sso:callback")),
        }
        if code_verifier is not None:
            payload["code_verifier"] = code_verifier
        try:
            tokens = self.get_token(payload)
        except requests.HTTPError as exc:
            logger.warning("token request refused: %s", exc)
            raise SignInRefused(
                "The identity provider refused to complete this sign-in (the code was "
                "already used, has expired, or does not belong to this sign-in)."
            ) from exc
        except (requests.RequestException, ValueError) as exc:
            raise ProviderUnavailable(
                "The identity provider could not be reached to complete the sign-in."
            ) from exc
        if not isinstance(tokens, dict):
            raise ProviderUnavailable("The identity provider's token answer is not an object.")
        return tokens

    def _with_userinfo(self, claims: dict[str, Any], *, access_token: str) -> dict[str, Any]:
        """The ID token's claims plus the userinfo endpoint's, when the provider has one."""
        if not self.OIDC_OP_USER_ENDPOINT or not access_token:
            return claims
        try:
            info = self.get_userinfo(access_token, None, claims)
        except (requests.RequestException, ValueError, SignInRefused) as exc:
            logger.warning("userinfo unavailable, using the ID token's claims: %s", exc)
            return claims
        if not isinstance(info, dict):
            return claims
        if str(info.get("sub")) != str(claims["sub"]):
            # OpenID Connect Core 1.0, 5.3.2: a different sub means a substituted answer.
            raise SignInRefused("The identity provider's user information is about someone else.")
        return {**claims, **{k: v for k, v in info.items() if k not in _TOKEN_CLAIMS}}

    def get_user(self, user_id: int) -> User | None:
        # The library's returns deactivated users too: their sessions would live on.
        user: User | None = super().get_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        # The library's path for a userinfo answer sent as a JWT: not trusted here.
        raise SignInRefused("Signed userinfo answers are not used.")
