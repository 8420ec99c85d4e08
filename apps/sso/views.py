"""The sign-in through the identity provider: start, callback, sign-out.

mozilla-django-oidc's views, made to take their endpoints from discovery, to answer every
refusal (wrong state, forged nonce, bad token, provider down) with a page that says what
happened instead of a 400/500 error page, and to end the provider's session at sign-out.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import LogoutView
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render, resolve_url
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from apps.sso.discovery import provider_metadata
from apps.sso.errors import ProviderUnavailable, SignInRefused
from apps.sso.text import clean_claim

logger = logging.getLogger(__name__)


def sign_in_failed(request: HttpRequest, reason: str, *, status: int) -> HttpResponse:
    """A page with the reason in a sentence and a way to start again."""
    return render(
        request,
        "sso/failed.html",
        {"reason": reason, "label": settings.OIDC_BUTTON_LABEL},
        status=status,
    )


class StartView(OIDCAuthenticationRequestView):  # type: ignore[misc]  # untyped library
    """Redirects to the provider's sign-in with state, nonce and a PKCE challenge."""

    def __init__(self, **kwargs: Any) -> None:
        # The library reads the endpoint from settings here; ours comes from discovery.
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.OIDC_ENABLED:
            raise Http404("Sign-in with an identity provider is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider_metadata().authorization_endpoint
        except ProviderUnavailable as exc:
            return sign_in_failed(request, str(exc), status=503)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        response: HttpResponse = super().get(request)
        return response


class CallbackView(OIDCAuthenticationCallbackView):  # type: ignore[misc]  # untyped library
    """Where the provider sends the browser back: state checked, code exchanged, signed in."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.OIDC_ENABLED:
            raise Http404("Sign-in with an identity provider is not configured.")
        if request.GET.get("error"):
            return self._provider_said_no(request)
        if not request.GET.get("code") or not request.GET.get("state"):
            return sign_in_failed(
                request, "The identity provider's answer is incomplete.", status=400
            )
        try:
            response: HttpResponse = super().get(request)
        except SignInRefused as exc:
            logger.warning("OIDC sign-in refused: %s", exc)
            return sign_in_failed(request, str(exc), status=403)
        except SuspiciousOperation as exc:  # the library's: a state this browser never made
            logger.warning("OIDC sign-in refused: %s", exc)
            return sign_in_failed(request, _UNKNOWN_STATE, status=400)
        except ProviderUnavailable as exc:
            return sign_in_failed(request, str(exc), status=502)
        return response

    def login_failure(self) -> HttpResponse:
        # No sign-in under way in this browser (no state kept), or an inactive user.
        return sign_in_failed(self.request, _UNKNOWN_STATE, status=400)

    def _provider_said_no(self, request: HttpRequest) -> HttpResponse:
        states = request.session.get("oidc_states")
        if isinstance(states, dict) and states.pop(request.GET.get("state", ""), None):
            request.session.modified = True  # that state can no longer be used
        error = clean_claim(request.GET.get("error_description") or request.GET["error"], limit=300)
        return sign_in_failed(
            request, f"The identity provider refused the sign-in: {error}", status=403
        )


_UNKNOWN_STATE = (
    "This answer from the identity provider does not belong to a sign-in started in this "
    "browser (an old, reused or forged link). Start the sign-in again."
)


class SignOutView(LogoutView):
    """Signs out here and, for a provider sign-in, at the provider too (RP-initiated logout).

    The way to the provider is a page that moves on by itself (meta refresh, and a link),
    not a redirect: the sign-out is a form, and the Content-Security-Policy's
    ``form-action 'self'`` makes browsers block a form's redirect to another origin.
    """

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        provider_logout = provider_logout_url(request)
        response = super().post(request, *args, **kwargs)
        if provider_logout:
            return render(
                request,
                "sso/signing_out.html",
                {"provider_logout_url": provider_logout},
            )
        return response


def provider_logout_url(request: HttpRequest) -> str:
    """The provider's end-session address for this session's ID token, or ""."""
    id_token = request.session.get("oidc_id_token")
    if not (settings.OIDC_ENABLED and settings.OIDC_LOGOUT_AT_PROVIDER and id_token):
        return ""
    try:
        endpoint = provider_metadata().end_session_endpoint
    except ProviderUnavailable as exc:
        logger.warning("signed out here only: %s", exc)
        return ""
    if not endpoint:
        return ""
    back = request.build_absolute_uri(resolve_url(settings.LOGOUT_REDIRECT_URL))
    query = {
        "id_token_hint": id_token,
        "post_logout_redirect_uri": back,
        "client_id": settings.OIDC_RP_CLIENT_ID,
    }
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{urlencode(query)}"
