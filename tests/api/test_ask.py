"""POST /api/v1/ask: the browser's ask pipeline, answering JSON or Server-Sent Events."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from apps.api.models import AskRecord
from apps.chat.models import Conversation, Message
from apps.knowledge.models import KnowledgeBase
from tests.servers import Reply, fake_groq

pytestmark = pytest.mark.django_db

ASK = "/api/v1/ask"
QUESTION = "How often are laptops replaced?"


def sse_events(response) -> list[tuple[str, dict]]:
    raw = b"".join(response.streaming_content).decode()
    parsed = []
    for block in raw.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        parsed.append((lines["event"], json.loads(lines["data"])))
    return parsed


@pytest.fixture
def api(demo_world, api_as):
    return api_as(demo_world.user)


def test_an_answer_comes_with_citations_sources_usage_and_timings(api, demo_world) -> None:
    response = api.post(ASK, {"question": QUESTION})
    assert response.status_code == 200, response.content
    body = response.json()
    assert "36 months" in body["text"]
    assert body["citations"] and body["sources"]
    first = body["citations"][0]
    assert first["title"] == "employee-handbook.pdf" and first["number"] == 1
    assert first["document_url"].startswith(
        f"/documents/{first['document_id']}/?passage={first['chunk_id']}#chunk-"
    )
    assert 0 <= first["start"] <= first["end"] <= len(body["text"])
    assert [s["number"] for s in body["sources"]] == sorted(
        {c["number"] for c in body["citations"]}
    )
    assert body["timings"]["total_seconds"] >= body["timings"]["ttft_seconds"] > 0
    message = Message.objects.get(pk=body["message"])
    assert message.conversation_id == body["conversation"] and message.content == body["text"]
    assert message.conversation.user == demo_world.user


def test_a_follow_up_continues_the_conversation(api) -> None:
    first = api.post(ASK, {"question": QUESTION}).json()
    second = api.post(
        ASK,
        {"question": "And what is the hotel cap in Europe?", "conversation": first["conversation"]},
    )
    assert second.status_code == 200
    assert second.json()["conversation"] == first["conversation"]
    assert Conversation.objects.get().messages.count() == 4


def test_the_stream_carries_the_browsers_events_and_the_answer_as_json(api) -> None:
    response = api.post(ASK, {"question": QUESTION, "stream": True})
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    stream = sse_events(response)
    kinds = [kind for kind, _ in stream]
    assert kinds[0] == "meta" and kinds[-1] == "done" and "error" not in kinds
    assert "delta" in kinds and kinds.index("citation") < kinds.index("done")
    assert stream[0][1]["passages"] > 0
    text = "".join(data["text"] for kind, data in stream if kind == "delta")
    done = stream[-1][1]
    assert "html" not in done and done["text"] == text and "36 months" in text
    assert done["citations"] and done["message"] == Message.objects.get(role="assistant").pk


def test_asking_only_named_bases_and_an_unreadable_one_is_not_found(api, demo_world) -> None:
    private = KnowledgeBase.objects.create(name="Private", owner=User.objects.create_user("eve"))
    response = api.post(
        ASK, {"question": QUESTION, "knowledge_bases": [demo_world.knowledge_base.pk]}
    )
    assert response.status_code == 200
    demo_world.user.is_superuser = False  # the demo user reads every base otherwise
    demo_world.user.save()
    refused = api.post(ASK, {"question": QUESTION, "knowledge_bases": [private.pk]})
    assert refused.status_code == 404 and refused.json()["error"]["type"] == "not_found_error"
    assert Conversation.objects.count() == 1


def test_another_users_conversation_is_not_found(api, api_as) -> None:
    first = api.post(ASK, {"question": QUESTION}).json()
    other = api_as(User.objects.create_user("mallory"))
    response = other.post(ASK, {"question": "More?", "conversation": first["conversation"]})
    assert response.status_code == 404
    assert Message.objects.count() == 2


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"question": ""},
        {"question": " \x00\x01 "},
        {"question": "x" * 2001},
        {"question": "ok", "knowledge_bases": []},
        {"question": "ok", "knowledge_bases": ["a"]},
        {"question": "ok", "knowledge_bases": [0]},
        {"question": "ok", "conversation": -1},
        {"question": "ok", "stream": "sometimes"},
        {"question": ["ok"]},
    ],
)
def test_bad_questions_get_a_400_and_count_against_nothing(api, body) -> None:
    response = api.post(ASK, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert not AskRecord.objects.exists() and not Message.objects.exists()


def test_a_body_that_is_not_json_gets_a_400(api) -> None:
    response = api.post(ASK, "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["type"]


def test_a_chat_server_that_is_down_gives_a_503_with_its_sentence_and_stores_nothing(
    api, settings
) -> None:
    settings.CHAT_BASE_URL = "http://127.0.0.1:9/v1"
    response = api.post(ASK, {"question": QUESTION})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["type"] == "model_error" and error["message"].endswith(".")
    assert not Message.objects.exists()


def test_a_chat_server_error_gives_a_502_and_the_stream_ends_with_an_error_event(
    api, settings
) -> None:
    broken = Reply(
        500, {"error": {"message": "boom", "type": "internal_server_error", "code": "x"}}
    )
    with fake_groq() as fake:
        fake.reply("chat/completions", broken)
        settings.CHAT_BASE_URL = fake.base_url
        settings.MODEL_API_MAX_RETRIES = 0
        response = api.post(ASK, {"question": QUESTION})
        assert response.status_code == 502
        assert response.json()["error"]["code"] == "model_server_error"
        stream = sse_events(api.post(ASK, {"question": QUESTION, "stream": True}))
    kind, data = stream[-1]
    assert kind == "error" and data["message"] and data["partial"] == ""
    assert not Message.objects.exists()


def test_the_rate_limit_answers_429_with_retry_after(api, api_as, demo_world, settings) -> None:
    settings.API_ASK_RATE_PER_MINUTE = 2
    settings.API_ASK_USER_RATE_PER_MINUTE = 3
    for _ in range(2):
        assert api.post(ASK, {"question": "Anything?"}).status_code == 200
    refused = api.post(ASK, {"question": "Anything?"})
    assert refused.status_code == 429
    assert refused["Retry-After"].isdigit() and 1 <= int(refused["Retry-After"]) <= 60
    error = refused.json()["error"]
    assert error["type"] == "rate_limit_error" and "2 questions per minute" in error["message"]
    second_token = api_as(demo_world.user)
    assert second_token.post(ASK, {"question": "Anything?"}).status_code == 200
    by_user = second_token.post(ASK, {"question": "Anything?"})
    assert (
        by_user.status_code == 429 and "Your tokens together" in by_user.json()["error"]["message"]
    )
    assert Message.objects.filter(role="assistant").count() == 3


def test_a_full_window_frees_up_as_old_asks_leave_it(api, settings) -> None:
    settings.API_ASK_RATE_PER_MINUTE = 1
    assert api.post(ASK, {"question": "Anything?"}).status_code == 200
    assert api.post(ASK, {"question": "Anything?"}).status_code == 429
    AskRecord.objects.update(asked_at=AskRecord.objects.get().asked_at - timedelta(seconds=61))
    assert api.post(ASK, {"question": "Anything?"}).status_code == 200
    assert AskRecord.objects.count() == 1  # the old one was cleared


def test_a_limit_of_zero_turns_it_off(api, settings) -> None:
    settings.API_ASK_RATE_PER_MINUTE = 0
    settings.API_ASK_USER_RATE_PER_MINUTE = 0
    for _ in range(3):
        assert api.post(ASK, {"question": "Anything?"}).status_code == 200


def test_an_api_question_can_be_narrowed_to_documents_and_file_types(api, demo_world) -> None:
    travel = next(d for d in demo_world.documents if d.title == "travel-and-expenses.md")
    response = api.post(
        ASK,
        {"question": "How often are laptops replaced?", "documents": [travel.pk]},
    )
    assert response.status_code == 200, response.content
    assert {c["document_id"] for c in response.json()["citations"]} <= {travel.pk}
    texts = api.post(
        ASK, {"question": "How often are laptops replaced?", "file_types": ["pdf"]}
    ).json()
    assert texts["citations"] and {c["title"] for c in texts["citations"]} == {
        "employee-handbook.pdf"
    }
    wrong = api.post(
        ASK,
        {"question": "q?", "added_after": "2026-05-01", "added_before": "2026-01-01"},
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "invalid_filter"
