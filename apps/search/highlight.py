"""Marking the query's words in a passage, on escaped text only."""

from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from apps.localmodels.lexical import STOP_WORDS, stem

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")
SNIPPET_CHARS = 420


def query_stems(query: str) -> list[str]:
    words = {w.lower() for w in _WORD.findall(query)}
    return sorted(
        {stem(w) for w in words if w not in STOP_WORDS and len(w) > 1}, key=len, reverse=True
    )


_MARKUP = re.compile(r"(?m)^\s*#{1,6}\s+|\*\*|__|`")


def plain(text: str) -> str:
    """The passage without Markdown heading marks, bold marks and backticks, on one line."""
    return " ".join(_MARKUP.sub(" ", text).split())


def snippet(text: str, stems: list[str], *, size: int = SNIPPET_CHARS) -> str:
    """About ``size`` characters of ``text`` around its first matching word."""
    text = plain(text)
    if len(text) <= size:
        return text
    lowered = text.lower()
    hits = [lowered.find(s) for s in stems if lowered.find(s) >= 0]
    start = max(0, min(hits) - size // 3) if hits else 0
    piece = text[start : start + size]
    return ("…" if start else "") + piece + ("…" if start + size < len(text) else "")


def highlight(text: str, query: str, *, size: int | None = SNIPPET_CHARS) -> SafeString:
    """``text`` escaped (an excerpt of about ``size`` characters around the first match, or
    all of it when ``size`` is None), with words that start like a query word in <mark>.

    The words are found in the raw text and each piece is escaped on its own, so a query
    can never match inside an HTML entity of the escaped text.
    """
    stems = query_stems(query)
    excerpt = snippet(text, stems) if size is not None else text
    if not stems:
        return mark_safe(str(escape(excerpt)))
    pattern = re.compile(
        r"\b(?:" + "|".join(re.escape(s) for s in stems) + r")[\w'-]*", re.IGNORECASE
    )
    pieces: list[str] = []
    position = 0
    for match in pattern.finditer(excerpt):
        pieces.append(str(escape(excerpt[position : match.start()])))
        pieces.append(f"<mark>{escape(match.group(0))}</mark>")
        position = match.end()
    pieces.append(str(escape(excerpt[position:])))
    return mark_safe("".join(pieces))
