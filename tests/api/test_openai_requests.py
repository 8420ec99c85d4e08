"""The chat-completions endpoint's edges: malformed bodies, failing model servers, prompt-mode
citations in a stream, and the history budget."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from django.contrib.auth.models import User

from apps.accounts.tokens import create_token
from apps.api.errors import ApiError
from apps.api.models import AskRecord
from apps.api.openai_messages import question_and_history, within_budget
from apps.api.openai_schemas import RequestMessage
from apps.knowledge.cleaning import has_control_characters
from apps.knowledge.models import Chunk
from tests.api.test_openai_compat import build_base
from tests.servers import Reply, fake_groq

PATH = "/api/v1/openai/chat/completions"
QUESTION = [{"role": "user", "content": "How often are laptops replaced?"}]

MALFORMED: list[tuple[str, Any]] = [
    ("not json", b"{nope"),
    ("an array", b"[]"),
    ("null", b"null"),
    ("no messages", {"model": "all"}),
    ("no model", {"messages": QUESTION}),
    ("empty messages", {"model": "all", "messages": []}),
    ("messages not a list", {"model": "all", "messages": "hi"}),
    ("unknown role", {"model": "all", "messages": [{"role": "wizard", "content": "hi"}]}),
    ("no user message", {"model": "all", "messages": [{"role": "system", "content": "hi"}]}),
    ("empty question", {"model": "all", "messages": [{"role": "user", "content": " \x00 "}]}),
    ("question too long", {"model": "all", "messages": [{"role": "user", "content": "x" * 2001}]}),
    ("content a number", {"model": "all", "messages": [{"role": "user", "content": 5}]}),
    ("model a number", {"model": 7, "messages": QUESTION}),
    ("stream a string", {"model": "all", "messages": QUESTION, "stream": "maybe"}),
    ("document without text", {"model": "all", "messages": QUESTION, "documents": [{"id": "a"}]}),
    (
        "document source of an unknown type",
        {"model": "all", "messages": QUESTION, "documents": [{"source": {"type": "pdf"}}]},
    ),
    ("documents too long", {"model": "all", "messages": QUESTION, "documents": ["x" * 60_001]}),
    ("truncated JSON", b'{"model": "all", "messages": [{"role": "user", "content": 1'),
]


@pytest.mark.parametrize(("case", "body"), MALFORMED, ids=[case for case, _ in MALFORMED])
def test_a_malformed_body_is_a_400_in_the_family_shape(db, api_as, alice, case, body) -> None:
    client = api_as(alice)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = client.client.post(
        PATH, raw, content_type="application/json", headers=client.headers
    )
    assert response.status_code == 400, (case, response.content[:300])
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"].endswith(".")
    assert not AskRecord.objects.exists()  # a refused request is not counted as an ask


def test_control_characters_in_text_are_cleaned_and_in_the_model_name_refused(
    db, api_as, alice
) -> None:
    hostile = "How often\x00 are laptops\x1b replaced?\u202e\x85"
    body: dict[str, Any] = {
        "model": "all",
        "messages": [{"role": "user", "content": hostile}],
        "documents": [hostile, {"id": "\x00", "text": hostile}],
    }
    client = api_as(alice)
    response = client.post(PATH, body)
    assert response.status_code == 200, response.content[:300]
    content = response.json()["choices"][0]["message"]["content"]
    assert not has_control_characters(content)
    body["messages"][0]["content"] = "How often are laptops replaced?\ud800"  # JSON: "\\ud800"
    response = client.post(PATH, body)
    assert response.status_code == 200, response.content[:300]
    body["model"] = "all\ud800"  # a name to match, not text to clean: refused
    response = client.post(PATH, body)
    assert response.status_code == 400
    assert "unicode" in response.json()["error"]["message"]


def test_an_unreadable_base_is_not_found_before_it_is_counted(db, api_as, bob, alice) -> None:
    base = build_base(alice, "Private")
    response = api_as(bob).post(PATH, {"model": f"kb-{base.pk}", "messages": QUESTION})
    assert response.status_code == 404
    assert response.json()["error"] == {
        "message": f"The model `kb-{base.pk}` does not exist or you do not have access to it. "
        "GET /api/v1/openai/models lists the models you can use.",
        "type": "not_found_error",
        "code": "model_not_found",
    }
    assert not AskRecord.objects.exists()


def test_disabled_citations_give_an_answer_without_annotations(db, api_as, alice) -> None:
    build_base(alice, "Handbook")
    body = {"model": "all", "messages": QUESTION, "citation_options": "disabled"}
    message = api_as(alice).post(PATH, body).json()["choices"][0]["message"]
    assert "36 months" in message["content"] and message["annotations"] == []


def test_a_question_about_nothing_readable_answers_that_nothing_matched(db, api_as, bob) -> None:
    body = api_as(bob).post(PATH, {"model": "all", "messages": QUESTION}).json()
    assert "No passage" in body["choices"][0]["message"]["content"]
    assert body["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def _sdk(app_server_url: str, user: User) -> openai.OpenAI:
    raw = create_token(user, "sdk")[1]
    return openai.OpenAI(base_url=f"{app_server_url}/api/v1/openai", api_key=raw, max_retries=0)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stream", [False, True])
def test_an_unreachable_chat_server_is_a_503(app_server_url, alice, settings, stream) -> None:
    build_base(alice, "Handbook")
    settings.CHAT_BASE_URL = "http://127.0.0.1:9/v1"
    settings.MODEL_API_MAX_RETRIES = 0
    with pytest.raises(openai.InternalServerError) as info:
        _sdk(app_server_url, alice).chat.completions.create(
            model="all", messages=QUESTION, stream=stream
        )
    assert info.value.status_code == 503
    assert info.value.code == "model_server_error"
    assert "could not be reached" in info.value.message


@pytest.mark.django_db(transaction=True)
def test_a_chat_server_that_refuses_the_request_is_a_502(app_server_url, alice, settings) -> None:
    build_base(alice, "Handbook")
    failure = {"error": {"message": "boom", "type": "internal_error", "code": "internal"}}
    with fake_groq() as fake:
        fake.reply("chat/completions", Reply(400, failure))
        settings.CHAT_BASE_URL = fake.base_url
        with pytest.raises(openai.InternalServerError) as info:
            _sdk(app_server_url, alice).chat.completions.create(model="all", messages=QUESTION)
    assert info.value.status_code == 502


def _chunk(content: str) -> dict[str, Any]:
    return {"id": "c", "choices": [{"index": 0, "delta": {"content": content}}]}


@pytest.mark.django_db(transaction=True)
def test_a_stream_cut_part_way_ends_with_an_error_the_sdk_raises(
    app_server_url, alice, settings
) -> None:
    build_base(alice, "Handbook")
    with fake_groq() as fake:
        fake.reply("chat/completions", Reply(stream=[_chunk("Laptops are ")], cut=True))
        settings.CHAT_BASE_URL = fake.base_url
        settings.CITATION_MODE = "documents"
        stream = _sdk(app_server_url, alice).chat.completions.create(
            model="all", messages=QUESTION, stream=True
        )
        received: list[str] = []
        with pytest.raises(openai.APIError) as info:
            for chunk in stream:
                received.append(chunk.choices[0].delta.content or "" if chunk.choices else "")
    assert "".join(received) == "Laptops are "
    assert "stopped answering part-way" in info.value.message


@pytest.mark.django_db(transaction=True)
def test_prompt_mode_markers_become_annotations_on_the_streamed_text(
    app_server_url, alice, settings
) -> None:
    build_base(alice, "Handbook")
    pieces = ["Laptops are replaced ", "every 36 months [1", "]. The guest ", "network is X [2]."]
    with fake_groq() as fake:
        fake.reply("chat/completions", Reply(stream=[_chunk(p) for p in pieces]))
        settings.CHAT_BASE_URL = fake.base_url
        settings.CITATION_MODE = "prompt"
        chunks = list(
            _sdk(app_server_url, alice).chat.completions.create(
                model="all", messages=QUESTION, stream=True
            )
        )
        system_prompt = fake.requests[-1]["json"]["messages"][0]["content"]
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == "".join(pieces)  # streamed as it came, markers included
    extra = chunks[-1].choices[0].delta.model_extra or {}
    cited = [a["document_citation"] for a in extra["annotations"] if "document_citation" in a]
    spans = [content[c["start_index"] : c["end_index"]] for c in cited]
    assert spans == ["Laptops are replaced every 36 months", "The guest network is X"]
    chunk = Chunk.objects.get(pk=int(cited[0]["document_id"]))
    first_source = system_prompt.split("[1] ", 1)[1].split("\n\n[2]", 1)[0]
    assert chunk.text in first_source


def _completion(content: str) -> dict[str, Any]:
    return {
        "id": "x",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
    }


@pytest.mark.django_db(transaction=True)
def test_the_earlier_messages_reach_the_rewrite_and_the_answer(
    app_server_url, alice, settings
) -> None:
    build_base(alice, "Handbook")
    messages = [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "What is the nightly hotel cap in Europe?"},
        {"role": "assistant", "content": "180 euros."},
        {"role": "user", "content": "And in North America?"},
    ]
    with fake_groq() as fake:
        fake.reply(
            "chat/completions",
            Reply(body=_completion("nightly hotel cap in North America")),
            Reply(body=_completion("It is 240 US dollars.")),
        )
        settings.CHAT_BASE_URL = fake.base_url
        settings.CITATION_MODE = "documents"
        answer = _sdk(app_server_url, alice).chat.completions.create(model="all", messages=messages)
        rewrite, final = (request["json"]["messages"] for request in fake.requests)
    assert answer.choices[0].message.content == "It is 240 US dollars."
    assert [m["content"] for m in rewrite[1:]] == [m["content"] for m in messages[1:]]
    assert [m["role"] for m in final] == ["system", "user", "assistant", "user"]
    assert [m["content"] for m in final[1:]] == [m["content"] for m in messages[1:]]
    assert "Answer in French." not in json.dumps(final)  # the pipeline's instructions rule


def test_the_question_is_the_last_user_message_and_the_rest_is_history() -> None:
    messages = [
        RequestMessage(role="system", content="Be brief."),
        RequestMessage(role="user", content="First?"),
        RequestMessage(role="assistant", content=[{"type": "text", "text": "One."}]),
        RequestMessage(role="tool", content="ignored"),
        RequestMessage(role="user", content="Second?"),
        RequestMessage(role="assistant", content="a prefill after the question"),
    ]
    question, history = question_and_history(messages)
    assert question == "Second?"
    assert history == [
        {"role": "user", "content": "First?"},
        {"role": "assistant", "content": "One."},
    ]
    with pytest.raises(ApiError):
        question_and_history([RequestMessage(role="assistant", content="Hi")])


def test_the_history_keeps_the_newest_messages_within_the_budget() -> None:
    history = []
    for i in range(4):
        history += [
            {"role": "user", "content": f"question {i} " + "x" * 400},
            {"role": "assistant", "content": f"answer {i} " + "y" * 400},
        ]
    kept = within_budget(history, budget_tokens=200)  # a message is about 43 tokens
    assert [m["content"][:10] for m in kept] == [
        "question 2",
        "answer 2 y",
        "question 3",
        "answer 3 y",
    ]
