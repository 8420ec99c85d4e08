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
