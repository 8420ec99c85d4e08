"""Marking the query's words in a passage, on escaped text only.

A word is marked when it starts like one of the query's content words: the query's words,
stop words and one-letter words dropped, each cut back by a light suffix stripper, so
"levels" in a query marks "level" and "levelled" in the passage. The rule is the search
page's own (the built-in provider has a similar one, but is reached over HTTP only).
"""

from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")
SNIPPET_CHARS = 420  # the excerpt shown for a search result
STOP_WORDS = frozenset(
    """a about above after again all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers him his how i if in into is it its itself just me more most my
    no nor not now of off on once only or other our ours out over own same she should so some such
    than that the their theirs them then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours""".split()  # noqa: SIM905
)


def stem(word: str) -> str:
    """A deliberately light suffix stripper: enough to match plurals and -ing/-ed forms."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def query_stems(query: str) -> list[str]:
    """The stems of the query's content words, longest first (so the longest one marks)."""
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


def highlight(text: str, query: str, *, excerpt: bool = True) -> SafeString:
    """``text`` escaped, with words that start like a query word in <mark>: an excerpt of
    about ``SNIPPET_CHARS`` characters around the first match (Markdown marks dropped), or
    the whole text as it is when ``excerpt`` is False.

    The words are found in the raw text and each piece is escaped on its own, so a query
    can never match inside an HTML entity of the escaped text.
    """
    stems = query_stems(query)
    shown = snippet(text, stems) if excerpt else text
    if not stems:
        return mark_safe(str(escape(shown)))
    pattern = re.compile(
        r"\b(?:" + "|".join(re.escape(s) for s in stems) + r")[\w'-]*", re.IGNORECASE
    )
    pieces: list[str] = []
    position = 0
    for match in pattern.finditer(shown):
        pieces.append(str(escape(shown[position : match.start()])))
        pieces.append(f"<mark>{escape(match.group(0))}</mark>")
        position = match.end()
    pieces.append(str(escape(shown[position:])))
    return mark_safe("".join(pieces))


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
MAX_SPAN_SENTENCES = 3


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if match.start() > start:
            spans.append((start, match.start()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _support(sentence: str, stems: list[str]) -> int:
    words = {stem(w.lower()) for w in _WORD.findall(sentence)}
    return sum(1 for s in stems if s in words)


def supporting_span(text: str, statement: str) -> tuple[int, int] | None:
    """The run of the passage's sentences (at most ``MAX_SPAN_SENTENCES``) that shares most
    content words with the answer's statement: what the citation stands on. None when no
    sentence shares a word."""
    stems = query_stems(statement)
    sentences = _sentence_spans(text)
    scores = [_support(text[a:b], stems) for a, b in sentences]
    if not scores or max(scores) == 0:
        return None
    best = scores.index(max(scores))
    first = last = best
    while last - first + 1 < MAX_SPAN_SENTENCES:
        left = scores[first - 1] if first > 0 else 0
        right = scores[last + 1] if last + 1 < len(scores) else 0
        if max(left, right) == 0:
            break
        if right >= left:
            last += 1
        else:
            first -= 1
    return sentences[first][0], sentences[last][1]


def span_highlight(text: str, statement: str) -> SafeString:
    """The passage escaped, with its supporting span (``supporting_span``) as one <mark>."""
    span = supporting_span(text, statement)
    if span is None:
        return mark_safe(escape(text))
    start, end = span
    return mark_safe(
        f"{escape(text[:start])}<mark>{escape(text[start:end])}</mark>{escape(text[end:])}"
    )
