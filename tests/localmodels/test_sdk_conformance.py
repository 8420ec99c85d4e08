"""The local provider accepted by real clients no one here wrote: the groq and openai SDKs."""

from __future__ import annotations

import groq
import openai
import pytest

DOCUMENTS = [
    {
        "id": "hotel",
        "source": {"type": "text", "text": "The nightly hotel cap is 180 euros in Europe."},
    },
    {"id": "laptop", "source": {"type": "text", "text": "Laptops are replaced every 36 months."}},
]


@pytest.fixture
def groq_client(app_server_url: str) -> groq.Groq:
    return groq.Groq(base_url=f"{app_server_url}/local", api_key="unused-locally", max_retries=0)


@pytest.fixture
def openai_client(app_server_url: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{app_server_url}/local/v1", api_key="unused-locally", max_retries=0
    )


def test_groq_sdk_creates_embeddings(groq_client: groq.Groq) -> None:
    response = groq_client.embeddings.create(model="all-MiniLM-L6-v2", input=["hello", "world"])
    assert [item.index for item in response.data] == [0, 1]
    assert all(len(item.embedding) == 384 for item in response.data)  # type: ignore[arg-type]


def test_groq_sdk_chat_with_documents_returns_document_citations(groq_client: groq.Groq) -> None:
    completion = groq_client.chat.completions.create(
        model="local-extractive",
        messages=[{"role": "user", "content": "How often are laptops replaced?"}],
        documents=DOCUMENTS,  # type: ignore[arg-type]
        citation_options="enabled",
    )
    message = completion.choices[0].message
    assert message.content and "36 months" in message.content
    assert message.annotations
    citation = message.annotations[0].document_citation
    assert citation is not None and citation.document_id == "laptop"
    assert "36 months" in message.content[citation.start_index : citation.end_index]
    assert completion.usage is not None and completion.usage.total_tokens > 0
    assert completion.x_groq is not None and completion.x_groq.id


def test_groq_sdk_lists_and_retrieves_models(groq_client: groq.Groq) -> None:
    ids = {model.id for model in groq_client.models.list().data}
    assert {"all-MiniLM-L6-v2", "local-rerank", "local-extractive"} <= ids
    assert groq_client.models.retrieve("local-extractive").id == "local-extractive"


def test_groq_sdk_sees_groq_shaped_errors(groq_client: groq.Groq) -> None:
    with pytest.raises(groq.NotFoundError) as info:
        groq_client.chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "hi"}]
        )
    assert "does not exist" in str(info.value)


def test_openai_sdk_creates_embeddings_with_its_default_encoding(
    openai_client: openai.OpenAI,
) -> None:
    response = openai_client.embeddings.create(model="all-MiniLM-L6-v2", input="hello world")
    assert len(response.data) == 1 and len(response.data[0].embedding) == 384
    assert abs(sum(x * x for x in response.data[0].embedding) - 1.0) < 1e-3


def test_openai_sdk_chat_with_documents_parses_the_response(openai_client: openai.OpenAI) -> None:
    completion = openai_client.chat.completions.create(
        model="local-extractive",
        messages=[{"role": "user", "content": "What is the hotel cap?"}],
        extra_body={"documents": DOCUMENTS, "citation_options": "enabled"},
    )
    message = completion.choices[0].message
    assert message.content and "180 euros" in message.content
    raw = message.model_dump()
    assert raw["annotations"][0]["type"] == "document_citation"
    assert raw["annotations"][0]["document_citation"]["document_id"] == "hotel"


def test_groq_sdk_streams_chat_with_citations_and_usage(groq_client: groq.Groq) -> None:
    stream = groq_client.chat.completions.create(
        model="local-extractive",
        messages=[{"role": "user", "content": "How often are laptops replaced?"}],
        documents=DOCUMENTS,  # type: ignore[arg-type]
        stream=True,
    )
    chunks = list(stream)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "36 months" in content
    assert chunks[0].x_groq is not None and chunks[0].x_groq.id
    annotations = [
        a
        for c in chunks
        if c.choices
        for a in (c.choices[0].delta.model_dump().get("annotations") or [])
    ]
    assert annotations and annotations[0]["document_citation"]["document_id"] == "laptop"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].x_groq is not None and chunks[-1].x_groq.usage is not None


def test_openai_sdk_streams_with_include_usage(openai_client: openai.OpenAI) -> None:
    stream = openai_client.chat.completions.create(
        model="local-extractive",
        messages=[{"role": "user", "content": "What is the hotel cap?"}],
        extra_body={"documents": DOCUMENTS},
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "180 euros" in "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens > 0


@pytest.mark.parametrize(
    ("call", "exception"),
    [
        (lambda c: c.embeddings.create(model="all-MiniLM-L6-v2", input=[]), "BadRequestError"),
        (lambda c: c.embeddings.create(model="nope", input="x"), "NotFoundError"),
        (
            lambda c: c.chat.completions.create(model="local-extractive", messages=[]),
            "BadRequestError",
        ),
    ],
)
def test_sdk_errors_surface_as_the_sdks_own_exceptions(
    groq_client, openai_client, call, exception
) -> None:
    with pytest.raises(getattr(groq, exception)):
        call(groq_client)
    with pytest.raises(getattr(openai, exception)):
        call(openai_client)


def test_wrong_key_surfaces_as_authentication_error(app_server_url, settings) -> None:
    settings.LOCAL_PROVIDER_KEY = "the-right-key"
    client = groq.Groq(base_url=f"{app_server_url}/local", api_key="wrong", max_retries=0)
    with pytest.raises(groq.AuthenticationError):
        client.models.list()
