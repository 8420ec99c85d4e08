"""The local provider's simple follow-up rewrite."""

from __future__ import annotations

import httpx

from apps.localmodels.rewrite import with_earlier_topic


def test_a_short_follow_up_gets_the_topic_of_the_previous_question() -> None:
    rewritten = with_earlier_topic(["What is the hotel cap in Europe?", "And in North America?"])
    assert rewritten.startswith("And in North America?")
    assert "hotel" in rewritten and "cap" in rewritten
    assert rewritten.count("America") == 1


def test_a_self_contained_question_is_kept_as_asked() -> None:
    question = "How often are company laptops replaced for engineers?"
    assert with_earlier_topic(["What is the hotel cap in Europe?", question]) == question


def test_pronouns_make_a_question_lean_on_the_conversation() -> None:
    rewritten = with_earlier_topic(
        ["Who approves travel expenses above the limit?", "When does this limit apply to them?"]
    )
    assert "travel" in rewritten and "expenses" in rewritten


def test_the_provider_answers_a_request_without_documents_with_the_rewrite(
    app_server_url,
) -> None:
    reply = httpx.post(
        f"{app_server_url}/local/v1/chat/completions",
        json={
            "model": "local-extractive",
            "messages": [
                {"role": "system", "content": "Rewrite the user's last message."},
                {"role": "user", "content": "What is the hotel cap in Europe?"},
                {"role": "assistant", "content": "The nightly hotel cap is 180 euros."},
                {"role": "user", "content": "And in North America?"},
            ],
        },
        timeout=30,
    )
    message = reply.json()["choices"][0]["message"]
    assert "hotel" in message["content"] and "North America" in message["content"]
    assert "annotations" not in message
