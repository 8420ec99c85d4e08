"""Follow-up questions: history within a budget, standalone rewrite, scoped history."""

from __future__ import annotations

import pytest

from apps.chat.answering import ask
from apps.chat.followup import history_messages, standalone_question
from apps.chat.models import Conversation, Message
from apps.knowledge.models import KnowledgeBase
from tests.servers import Reply, fake_groq

pytestmark = pytest.mark.django_db


def _completion(content: str) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "llama-3.3-70b-versatile",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
    }


def _conversation(user, turns: list[tuple[str, str]]) -> Conversation:
    conversation = Conversation.objects.create(user=user, title="t")
    for question, answer in turns:
        Message.objects.create(conversation=conversation, role="user", content=question)
        Message.objects.create(conversation=conversation, role="assistant", content=answer)
    return conversation


def test_history_keeps_the_newest_turns_within_the_token_budget(alice) -> None:
    turns = [(f"question {i} " + "x" * 400, f"answer {i} " + "y" * 400) for i in range(5)]
    conversation = _conversation(alice, turns)
    # Each turn is about 84 estimated tokens (a 400-character word counts 40): two fit in 200.
    history = history_messages(conversation, user=alice, budget_tokens=200)
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]
    assert history[0]["content"].startswith("question 3")
    assert history[-1]["content"].startswith("answer 4")


def test_history_leaves_out_answers_whose_sources_are_no_longer_readable(demo_world, bob) -> None:
    first = ask(
        user=bob,
        question="How often are laptops replaced?",
        knowledge_base_ids=[demo_world.knowledge_base.pk],
    )
    assert len(history_messages(first.conversation, user=bob)) == 2
    KnowledgeBase.objects.filter(pk=demo_world.knowledge_base.pk).update(shared_with_all=False)
    assert history_messages(first.conversation, user=bob) == []


def test_the_rewrite_goes_through_the_chat_model_with_the_history(settings) -> None:
    history = [
        {"role": "user", "content": "What is the hotel cap in Europe?"},
        {"role": "assistant", "content": "180 euros."},
    ]
    with fake_groq() as fake:
        fake.reply("chat/completions", Reply(body=_completion('"hotel cap in North America"')))
        settings.CHAT_BASE_URL = fake.base_url
        rewritten = standalone_question("And in North America?", history)
    assert rewritten == "hotel cap in North America"
    sent = fake.requests[0]["json"]
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "user"]
    assert "documents" not in sent


def test_a_failed_rewrite_searches_for_the_question_as_asked(settings) -> None:
    settings.CHAT_BASE_URL = "http://127.0.0.1:9/v1"
    settings.MODEL_API_MAX_RETRIES = 0
    history = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    assert standalone_question("And then?", history) == "And then?"


def test_a_follow_up_is_searched_standalone_and_answered_with_the_history(demo_world) -> None:
    first = ask(
        user=demo_world.user,
        question="What is the hotel cap in Europe?",
        knowledge_base_ids=[demo_world.knowledge_base.pk],
    )
    follow = ask(
        user=demo_world.user,
        question="And in North America?",
        knowledge_base_ids=[demo_world.knowledge_base.pk],
        conversation=first.conversation,
    )
    assert "hotel" in follow.message.metadata["search_query"]
    assert follow.message.metadata["history_messages"] == 2
    assert "240 US dollars" in follow.message.content
    assert follow.conversation.pk == first.conversation.pk
