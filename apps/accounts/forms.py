from __future__ import annotations

import re
from typing import Any

from django import forms

from apps.accounts.tokens import MAX_EXPIRES_DAYS

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")  # no control character is stored
EXPIRY_CHOICES = [("", "Never"), ("7", "7 days"), ("30", "30 days"), ("90", "90 days")]
EXPIRY_CHOICES += [("365", "1 year")]


class _CleanCharField(forms.CharField):
    """Control characters are dropped (a NUL is not refused, it is removed)."""

    def to_python(self, value: Any) -> str | None:
        return super().to_python(_CONTROL.sub("", value) if isinstance(value, str) else value)


class TokenForm(forms.Form):
    name = _CleanCharField(
        max_length=100,
        help_text="What the token is for, such as “team bot” or “nightly export”.",
        error_messages={"required": "Please name the token."},
    )
    expires_days = forms.TypedChoiceField(
        choices=EXPIRY_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        label="Expires after",
    )
    read_only = forms.BooleanField(
        required=False,
        label="Read-only",
        help_text="May search and ask, but not change documents or delete conversations.",
    )

    def clean_name(self) -> str:
        name = " ".join(_CONTROL.sub("", str(self.cleaned_data["name"])).split())
        if not name:
            raise forms.ValidationError("Please name the token.")
        return name

    def clean_expires_days(self) -> int | None:
        days = self.cleaned_data.get("expires_days")
        if days is not None and not 1 <= days <= MAX_EXPIRES_DAYS:
            raise forms.ValidationError("Choose one of the expiry periods.")
        return days
