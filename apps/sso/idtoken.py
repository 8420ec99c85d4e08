"""Checking the provider's ID token: signature by the provider's key, issuer, audience,
expiry and the nonce of this very sign-in (OpenID Connect Core 1.0, section 3.1.3.7).

mozilla-django-oidc checks signature, expiry and nonce but not audience or issuer, and an
expired token escapes it as a PyJWT error (a 500); this module does all of it and answers
every failure with ``SignInRefused`` and a sentence.
"""

from __future__ import annotations

import hmac
from typing import Any

import jwt
from django.conf import settings

from apps.sso.discovery import provider_metadata, signing_keys
from apps.sso.errors import SignInRefused

_REFUSALS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "The identity provider's sign-in token has expired."),
    (jwt.ImmatureSignatureError, "The identity provider's sign-in token is not valid yet."),
    (jwt.InvalidSignatureError, "The sign-in token's signature is not the identity provider's."),
    (jwt.InvalidAudienceError, "The sign-in token was issued to another application."),
    (jwt.InvalidIssuerError, "The sign-in token was issued by another identity provider."),
    (jwt.MissingRequiredClaimError, "The sign-in token lacks a required claim."),
)


def verify_id_token(token: str, *, nonce: str | None) -> dict[str, Any]:
    """The token's claims, once everything about it is checked; ``SignInRefused`` otherwise."""
    if not token:
        raise SignInRefused("The identity provider sent no ID token.")
    algorithm = str(settings.OIDC_RP_SIGN_ALGO)
    header = _header(token)
    if header.get("alg") != algorithm:
        raise SignInRefused(
            f"The sign-in token is signed with {header.get('alg')!r}, not {algorithm!r}."
        )
    claims = _decode(token, key=_key_for(header, algorithm), algorithm=algorithm)
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    client_id = str(settings.OIDC_RP_CLIENT_ID)
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise SignInRefused("The sign-in token was issued to another application.")
    if nonce is None or not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        raise SignInRefused("The sign-in token does not belong to this sign-in (nonce).")
    return claims


def _header(token: str) -> dict[str, Any]:
    try:
        return dict(jwt.get_unverified_header(token))
    except jwt.InvalidTokenError as exc:
        raise SignInRefused("The identity provider's sign-in token is malformed.") from exc


def _key_for(header: dict[str, Any], algorithm: str) -> Any:
    if algorithm.startswith("HS"):
        # A shared-secret signature (rare for OpenID providers): the client secret is the key.
        return str(settings.OIDC_RP_CLIENT_SECRET)
    kid = header.get("kid")
    for refresh in (False, True):
        candidates = [
            jwk
            for jwk in signing_keys(refresh=refresh)
            if (kid is None or jwk.get("kid") == kid)
            and jwk.get("alg", algorithm) == algorithm
            and jwk.get("use", "sig") == "sig"
        ]
        if len(candidates) == 1 or (candidates and kid is not None):
            try:
                return jwt.PyJWK(candidates[0], algorithm=algorithm)
            except jwt.PyJWKError as exc:
                raise SignInRefused("The identity provider's signing key is unusable.") from exc
    raise SignInRefused("The sign-in token is signed by a key the identity provider does not list.")


def _decode(token: str, *, key: Any, algorithm: str) -> dict[str, Any]:
    try:
        return dict(
            jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=str(settings.OIDC_RP_CLIENT_ID),
                issuer=provider_metadata().issuer,
                leeway=int(settings.OIDC_CLOCK_SKEW_SECONDS),
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        )
    except jwt.InvalidTokenError as exc:
        for kind, sentence in _REFUSALS:
            if isinstance(exc, kind):
                raise SignInRefused(sentence) from exc
        raise SignInRefused("The identity provider's sign-in token is not valid.") from exc
