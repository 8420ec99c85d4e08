"""The identity provider's discovery document and signing keys, fetched once and cached.

``<issuer>/.well-known/openid-configuration`` names the endpoints and the JWKS address.
Nothing is fetched at start-up: the first sign-in fetches, later ones reuse it for
``OIDC_DISCOVERY_CACHE_SECONDS``. A provider that is down makes the sign-in button answer
with a sentence (and is asked again after a short pause), never the password sign-in.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from pydantic import BaseModel, ConfigDict, ValidationError

from apps.sso.errors import ProviderUnavailable

logger = logging.getLogger(__name__)

# After a failed fetch, callers get the same sentence for this long instead of each waiting
# for the provider's timeout again.
FAILURE_PAUSE_SECONDS = 15.0
# A token signed with a key id the cached JWKS lacks refetches it, at most this often
# (key rotation), so forged key ids cannot make us hammer the provider.
JWKS_REFRESH_SECONDS = 60.0


class ProviderMetadata(BaseModel):
    """The fields of the discovery document (OpenID Connect Discovery 1.0) that we use."""

    model_config = ConfigDict(extra="ignore")

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    end_session_endpoint: str | None = None


class _Jwks(BaseModel):
    model_config = ConfigDict(extra="ignore")

    keys: list[dict[str, Any]]


@dataclass
class _Entry:
    value: Any
    until: float
    error: str = ""


_lock = threading.Lock()
_cache: dict[str, _Entry] = {}


def provider_metadata() -> ProviderMetadata:
    """The configured provider's endpoints (cached); ``ProviderUnavailable`` with a sentence."""
    url = str(settings.OIDC_DISCOVERY_URL)
    metadata: ProviderMetadata = _cached(url, lambda: _fetch_metadata(url))
    return metadata


def signing_keys(*, refresh: bool = False) -> list[dict[str, Any]]:
    """The provider's public keys (JWKS); ``refresh`` refetches unless fetched very lately."""
    uri = provider_metadata().jwks_uri
    key = f"jwks:{uri}"
    if refresh:
        with _lock:
            entry = _cache.get(key)
            if (
                entry
                and not entry.error
                and time.monotonic() - _fetched_at(entry) > JWKS_REFRESH_SECONDS
            ):
                del _cache[key]
    keys: list[dict[str, Any]] = _cached(key, lambda: _fetch_jwks(uri))
    return keys


def forget() -> None:
    """Drop what is cached (tests; an operator's shell after changing the provider)."""
    with _lock:
        _cache.clear()


def _fetched_at(entry: _Entry) -> float:
    return entry.until - float(settings.OIDC_DISCOVERY_CACHE_SECONDS)


def _cached(key: str, fetch: Any) -> Any:
    with _lock:
        entry = _cache.get(key)
        if entry and entry.until > time.monotonic():
            if entry.error:
                raise ProviderUnavailable(entry.error)
            return entry.value
    try:
        value = fetch()
    except ProviderUnavailable as exc:
        logger.warning("identity provider unavailable: %s", exc)
        with _lock:
            _cache[key] = _Entry(None, time.monotonic() + FAILURE_PAUSE_SECONDS, str(exc))
        raise
    with _lock:
        _cache[key] = _Entry(value, time.monotonic() + float(settings.OIDC_DISCOVERY_CACHE_SECONDS))
    return value


def _get_json(url: str, what: str) -> Any:
    try:
        response = httpx.get(url, timeout=float(settings.OIDC_TIMEOUT), follow_redirects=False)
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(
            f"The identity provider could not be reached for its {what} ({type(exc).__name__})."
        ) from exc
    if response.status_code != 200:
        raise ProviderUnavailable(
            f"The identity provider answered {response.status_code} for its {what}."
        )
    try:
        return response.json()
    except ValueError as exc:
        raise ProviderUnavailable(f"The identity provider's {what} is not JSON.") from exc


def _fetch_metadata(url: str) -> ProviderMetadata:
    try:
        metadata = ProviderMetadata.model_validate(_get_json(url, "discovery document"))
    except ValidationError as exc:
        raise ProviderUnavailable(
            "The identity provider's discovery document lacks an endpoint we need "
            f"({', '.join(str(e['loc'][0]) for e in exc.errors() if e['loc'])})."
        ) from exc
    expected = str(settings.OIDC_ISSUER)
    if expected and metadata.issuer.rstrip("/") != expected.rstrip("/"):
        # OpenID Connect Discovery 1.0, section 4.3: the issuer must be the one asked for.
        raise ProviderUnavailable(
            f"The discovery document names the issuer {metadata.issuer!r}, not the configured "
            f"OIDC_ISSUER {expected!r}."
        )
    return metadata


def _fetch_jwks(uri: str) -> list[dict[str, Any]]:
    try:
        return _Jwks.model_validate(_get_json(uri, "signing keys (JWKS)")).keys
    except ValidationError as exc:
        raise ProviderUnavailable("The identity provider's signing keys are not a JWKS.") from exc
