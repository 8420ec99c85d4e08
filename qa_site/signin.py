"""The sign-in forms (the site's and the admin's): a user name is bounded and clean.

Django's ``AuthenticationForm`` sets the user name's ``max_length`` after the field is
built, so no length validator runs: a 100,000-character name reached ``authenticate`` and
django-axes' 255-character ``username`` column (a 500). Control characters are removed
like everywhere else text comes in (``apps.knowledge.cleaning``); a NUL is refused.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator

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


class SignInForm(_BoundedUsername, AuthenticationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bound_username()


class AdminSignInForm(_BoundedUsername, AdminAuthenticationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bound_username()
