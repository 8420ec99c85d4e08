"""Follow-up questions: the conversation so far, within a token budget, and the
standalone question that retrieval searches for."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.conf import settings
from django.contrib.auth.models import User

from apps.chat.access import withhold_unreadable_sources
from apps.chat.models import Conversation, Message
from apps.modelapi.client import chat_completion
from apps.modelapi.errors import ModelApiError
from apps.modelapi.tokens import estimate_tokens

logger = logging.getLogger(__name__)

REWRITE_PROMPT = (
    "Rewrite the user's last message as one standalone search query that can be understood "
    "without the conversation: resolve pronouns and add the topic it refers to. "
    "Reply with the query only, no quotes, no explanation."
)
MAX_QUERY_CHARS = 500


def history_messages(
    conversation: Conversation | None, *, user: User, budget_tokens: int | None = None
) -> list[dict[str, str]]:
    """Earlier turns as chat messages, newest kept first, oldest dropped to fit the budget.

    Answers whose sources the user may no longer read are left out with their question.
    """
    if conversation is None:
        return []
    budget = int(settings.CHAT_HISTORY_TOKENS if budget_tokens is None else budget_tokens)
    stored = list(conversation.messages.all())
    withhold_unreadable_sources(user, stored)
    turns = _turns(stored)
    kept: list[dict[str, str]] = []
    used = 0
    for question, answer in reversed(turns):
        cost = estimate_tokens(question.content) + estimate_tokens(answer.content)
        if used + cost > budget:
            break
        used += cost
        kept[:0] = [
            {"role": "user", "content": question.content},
            {"role": "assistant", "content": answer.content},
        ]
    return kept


def _turns(messages: Sequence[Message]) -> list[tuple[Message, Message]]:
    turns = []
    for question, answer in zip(messages, messages[1:], strict=False):
        if (
            question.role == Message.Role.USER
            and answer.role == Message.Role.ASSISTANT
            and not answer.metadata.get("withheld")
        ):
            turns.append((question, answer))
    return turns


def standalone_question(question: str, history: Sequence[dict[str, str]]) -> str:
    """``question`` rewritten by the chat model so that it stands alone; as is without history.

    A failed rewrite falls back to the question itself: the answer call that follows
    reports a model server that is down.
    """
    if not history:
        return question
    messages = [{"role": "system", "content": REWRITE_PROMPT}, *history]
    messages.append({"role": "user", "content": question})
    try:
        completion = chat_completion(messages, max_tokens=100, temperature=0.0)
    except ModelApiError as exc:
        logger.warning("follow-up rewrite failed (%s); searching for the question as asked", exc)
        return question
    rewritten = (completion.choices[0].message.content or "").strip().strip('"').strip()
    return rewritten[:MAX_QUERY_CHARS] or question
