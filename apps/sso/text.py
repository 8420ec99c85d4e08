"""Claim values made safe to store: no control characters, no surrounding space."""

from __future__ import annotations

import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def clean_claim(value: object, *, limit: int = 1000) -> str:
    """A claim as plain text (NFC, controls and direction marks removed), at most ``limit``."""
    if not isinstance(value, str):
        return ""
    text = _CONTROL.sub("", unicodedata.normalize("NFC", value)).strip()
    return text[:limit]
