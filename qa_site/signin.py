"""The sign-in forms (the site's and the admin's): a user name is bounded and clean.

Django's ``AuthenticationForm`` sets the user name's ``max_length`` after the field is
built, so no length validator runs: a 100,000-character name reached ``authenticate`` and
django-axes' 255-character ``username`` column (a 500). Control characters are removed
like everywhere else text comes in (``apps.knowledge.cleaning``); a NUL is refused.

With ``OIDC_SSO_ONLY`` the password is for superusers only: the page hides the form (it
shows with ``?password=1``) and both forms refuse everyone else, with one sentence whether
the password was right or not (no oracle), after django-axes has counted a wrong one.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.urls import reverse
from django.utils.http import urlencode

from apps.knowledge.cleaning import clean_text


class _BoundedUsername:
    fields: dict[str, Any]
    cleaned_data: dict[str, Any]

    def bound_username(self) -> None:
        field = self.fields["username"]
        if field.max_length and not any(
            isinstance(v, MaxLengthValidator) for v in field.validators
        ):
            field.validators.append(MaxLengthValidator(field.max_length))

    def clean_username(self) -> str:
        return clean_text(str(self.cleaned_data.get("username") or ""))

    def refuse_unless_superuser(self, user: User) -> None:
        if settings.OIDC_SSO_ONLY and not getattr(user, "is_superuser", False):
            raise ValidationError(sso_only_refusal(), code="sso_only")


def sso_only_refusal() -> str:
    return (
        "Password sign-in here is for administrators only: check the user name and "
        f"password, or use “{settings.OIDC_BUTTON_LABEL}”."
    )


class SignInForm(_BoundedUsername, AuthenticationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bound_username()
        if settings.OIDC_SSO_ONLY:
            self.error_messages = {**self.error_messages, "invalid_login": sso_only_refusal()}

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        self.refuse_unless_superuser(user)


class AdminSignInForm(_BoundedUsername, AdminAuthenticationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bound_username()

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        self.refuse_unless_superuser(user)


class SignInView(LoginView):
    """The sign-in page: the identity provider's button when configured, the password form
    unless ``OIDC_SSO_ONLY`` hides it (``?password=1`` shows it, for superusers)."""

    authentication_form = SignInForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        sso = bool(settings.OIDC_ENABLED)
        next_url = context.get("next") or ""
        context["sso_enabled"] = sso
        context["sso_label"] = settings.OIDC_BUTTON_LABEL
        context["sso_start_url"] = reverse("sso:start") + (
            f"?{urlencode({'next': next_url})}" if next_url else ""
        )
        context["show_password_form"] = not (
            sso and settings.OIDC_SSO_ONLY and self.request.GET.get("password") != "1"
        )
        return context
