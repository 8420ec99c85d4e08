"""The local provider's simple follow-up rewrite (no language model involved).

A follow-up such as "And in Asia?" cannot be searched on its own. When it is short or
leans on the conversation (pronouns, "what about"), the content words of the previous
user question that it does not already contain are appended, so retrieval sees the
topic again: "And in Asia? hotel cap". Self-contained questions are kept as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from apps.localmodels.lexical import STOP_WORDS, stem

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")
_LEANS_ON_CONTEXT = frozenset(
    [
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "they",
        "them",
        "their",
        "there",
        "he",
        "she",
        "his",
        "her",
        "one",
        "ones",
        "same",
    ]
)
_CONTINUATIONS = ("and ", "what about", "how about", "also", "but ", "or ", "then ")
SELF_CONTAINED_TERMS = 4


def _content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text) if w.lower() not in STOP_WORDS and len(w) > 1]


def needs_context(question: str) -> bool:
    lowered = question.strip().lower()
    words = {w.lower() for w in _WORD.findall(lowered)}
    return (
        len(_content_words(question)) < SELF_CONTAINED_TERMS
        or bool(words & _LEANS_ON_CONTEXT)
        or lowered.startswith(_CONTINUATIONS)
    )


def with_earlier_topic(user_messages: Sequence[str]) -> str:
    """The last user message, completed with the topic of the one before when needed."""
    if not user_messages:
        return ""
    question = user_messages[-1].strip()
    if len(user_messages) < 2 or not needs_context(question):
        return question
    present = {stem(w.lower()) for w in _content_words(question)}
    added: list[str] = []
    for earlier in reversed(user_messages[:-1]):
        for word in _content_words(earlier):
            key = stem(word.lower())
            if key not in present:
                present.add(key)
                added.append(word)
        if added:
            break
    return f"{question} {' '.join(added)}".strip()
