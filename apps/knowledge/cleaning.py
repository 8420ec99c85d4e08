"""Text hygiene: the control characters no stored or searched string may hold.

Removed: NUL and the other C0 controls except tab, line feed and carriage return; DEL and
the C1 controls (U+0080–U+009F); lone surrogates (which PostgreSQL and UTF-8 cannot hold).
Everything else stays, including right-to-left marks, zero-width joiners and emoji.
Applied where text comes in: extraction output and document titles, questions, search
queries, conversation names, feedback comments and URLs typed into forms.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.validators import ProhibitNullCharactersValidator

if TYPE_CHECKING:  # extraction is imported only where extracted text is cleaned
    from apps.knowledge.extract import Extracted

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` without control characters or lone surrogates."""
    return _CONTROL.sub("", text)


def has_control_characters(text: str) -> bool:
    return _CONTROL.search(text) is not None


def clean_line(text: str, *, max_chars: int | None = None) -> str:
    """A one-line value (a title, a name): cleaned, whitespace runs as single spaces."""
    line = " ".join(clean_text(text).split())
    return line[:max_chars] if max_chars is not None else line


class CleanCharField(forms.CharField):
    """A text field whose value loses its control characters (instead of a NUL being
    refused with "Null characters are not allowed", and the others kept)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]

    def to_python(self, value: Any) -> str | None:
        return super().to_python(clean_text(value) if isinstance(value, str) else value)


def clean_extracted(extracted: Extracted) -> Extracted:
    """Cleaned text and title, with the page spans moved to the cleaned offsets."""
    from apps.knowledge.extract import PageSpan

    title = clean_line(extracted.title)
    if not extracted.pages:
        return replace(extracted, text=clean_text(extracted.text), title=title)
    parts: list[str] = []
    pages: list[PageSpan] = []
    position = 0  # in the original text
    length = 0  # of the cleaned text so far
    for span in sorted(extracted.pages, key=lambda p: p.start):
        begin = max(span.start, position)  # spans never overlap; if they did, no text twice
        gap = clean_text(extracted.text[position:begin])
        body = clean_text(extracted.text[begin : max(span.end, begin)])
        parts += [gap, body]
        start = length + len(gap)
        pages.append(PageSpan(span.page, start, start + len(body)))
        length = start + len(body)
        position = max(span.end, begin)
    parts.append(clean_text(extracted.text[position:]))
    return replace(extracted, text="".join(parts), pages=pages, title=title)
