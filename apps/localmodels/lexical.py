"""Small lexical helpers shared by the local reranker and answerer."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
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


def content_terms(text: str) -> set[str]:
    return {stem(w) for w in _WORD.findall(text.lower()) if w not in STOP_WORDS}


def term_overlap(query_terms: set[str], text: str) -> float:
    """Share of the query's content terms that occur in ``text`` (0..1)."""
    if not query_terms:
        return 0.0
    return len(query_terms & content_terms(text)) / len(query_terms)
