"""A chat-completions ``messages`` list as the ask pipeline reads it: the last user message
is the question, the user and assistant messages before it are the history.

System (and developer, tool) messages are left out: the pipeline's own instructions keep
the model on the documents and citing them. The history is cut, oldest first, to
``CHAT_HISTORY_TOKENS`` like a stored conversation's.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from apps.api.errors import ApiError
from apps.api.openai_schemas import RequestMessage
from apps.chat.forms import MAX_QUESTION_CHARS
from apps.knowledge.cleaning import clean_text
from apps.modelapi.tokens import estimate_tokens

HISTORY_ROLES = ("user", "assistant")


def _bad_messages(message: str) -> ApiError:
    return ApiError(400, message, code="invalid_messages")


def question_and_history(
    messages: Sequence[RequestMessage],
) -> tuple[str, list[dict[str, str]]]:
    """The question and the earlier turns; a 400 when there is no user message with text."""
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last_user is None:
        raise _bad_messages("'messages' has no user message: the last one is the question.")
    question = clean_text(messages[last_user].text()).strip()
    if not question:
        raise _bad_messages("The last user message is empty: it must hold the question.")
    if len(question) > MAX_QUESTION_CHARS:
        raise _bad_messages(
            f"The question (the last user message) has {len(question)} characters; "
            f"at most {MAX_QUESTION_CHARS}."
        )
    earlier = [
        {"role": m.role, "content": clean_text(m.text()).strip()}
        for m in messages[:last_user]
        if m.role in HISTORY_ROLES
    ]
    return question, within_budget([m for m in earlier if m["content"]])


def within_budget(
    history: list[dict[str, str]], budget_tokens: int | None = None
) -> list[dict[str, str]]:
    """The newest messages that fit the budget, in their order (the oldest go first)."""
    budget = int(settings.CHAT_HISTORY_TOKENS if budget_tokens is None else budget_tokens)
    kept: list[dict[str, str]] = []
    used = 0
    for message in reversed(history):
        cost = estimate_tokens(message["content"])
        if used + cost > budget:
            break
        used += cost
        kept.insert(0, message)
    # A history that starts with an answer reads oddly to the model: start with a question.
    while kept and kept[0]["role"] != "user":
        kept.pop(0)
    return kept
