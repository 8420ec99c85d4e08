"""The knowledge bases as OpenAI-compatible models, through the official openai and groq SDKs
over real HTTP (the app server thread, the real local provider, the real database)."""

from __future__ import annotations

import re
from typing import Any

import groq
import openai
import pytest
from django.contrib.auth.models import User

from apps.accounts.tokens import create_token
from apps.chat.models import Conversation
from apps.knowledge.indexing import index_document
from apps.knowledge.models import Chunk, Document, KnowledgeBase
from apps.knowledge.uploads import add_file_document

pytestmark = pytest.mark.django_db(transaction=True)

HANDBOOK = {
    "laptops.md": "# Laptops\n\nLaptops are replaced every 36 months by the IT desk.",
    "hotels.md": (
        "# Hotels\n\nThe nightly hotel cap is 180 euros in Europe.\n\n"
        "In North America the nightly hotel cap is 240 US dollars."
    ),
    "wifi.md": "# Wi-Fi\n\nThe guest Wi-Fi network is called LumenGuest.",
}
ZEPHYR = "The Zephyr project has the code name BLUE-HERON-42 since the spring reorganisation."


def build_base(owner: User, name: str, **fields: Any) -> KnowledgeBase:
    base = KnowledgeBase.objects.create(name=name, owner=owner, **fields)
    for filename, text in HANDBOOK.items():
        document = add_file_document(knowledge_base=base, filename=filename, data=text.encode())
        assert index_document(document_id=document.pk).outcome == "indexed"
    return base


@pytest.fixture
def private_base(alice: User) -> KnowledgeBase:
    """Alice's base, shared with no one."""
    return build_base(alice, "Alice's handbook")


def openai_client(app_server_url: str, user: User) -> openai.OpenAI:
    raw = create_token(user, "openai sdk")[1]
    return openai.OpenAI(base_url=f"{app_server_url}/api/v1/openai", api_key=raw, max_retries=0)


def groq_client(app_server_url: str, user: User) -> groq.Groq:
    raw = create_token(user, "groq sdk")[1]
    # The groq SDK puts /openai/v1/ before every path.
    return groq.Groq(base_url=f"{app_server_url}/api/v1", api_key=raw, max_retries=0)


def ask(question: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": question}]


def cited_chunk(annotation: dict[str, Any]) -> Chunk:
    return Chunk.objects.get(pk=int(annotation["document_citation"]["document_id"]))


def test_models_list_all_and_only_the_readable_bases(app_server_url, private_base, bob) -> None:
    shared = KnowledgeBase.objects.create(name="Shared", owner=private_base.owner)
    shared.shared_with_all = True
    shared.save()
    alice_ids = {m.id for m in openai_client(app_server_url, private_base.owner).models.list()}
    bob_ids = {m.id for m in groq_client(app_server_url, bob).models.list().data}
    assert alice_ids == {"all", f"kb-{private_base.pk}", f"kb-{shared.pk}"}
    assert bob_ids == {"all", f"kb-{shared.pk}"}
    model = openai_client(app_server_url, bob).models.retrieve(f"kb-{shared.pk}")
    assert model.id == f"kb-{shared.pk}" and model.model_extra == {
        "name": "Shared",
        "description": "",
    }


def test_an_unreadable_model_is_not_found_like_an_unknown_one(
    app_server_url, private_base, bob
) -> None:
    client = openai_client(app_server_url, bob)
    messages: list[str] = []
    for model in (f"kb-{private_base.pk}", "kb-999999", "nonsense"):
        with pytest.raises(openai.NotFoundError) as info:
            client.models.retrieve(model)
        messages.append(str(info.value).replace(model, "<model>"))
        assert info.value.code == "model_not_found"
    assert len(set(messages)) == 1  # nothing tells an unreadable base from a missing one


@pytest.mark.parametrize("stream", [False, True])
def test_a_reader_without_access_gets_not_found_through_both_sdks(
    app_server_url, private_base, bob, stream
) -> None:
    model = f"kb-{private_base.pk}"
    with pytest.raises(openai.NotFoundError):
        openai_client(app_server_url, bob).chat.completions.create(
            model=model, messages=ask("How often are laptops replaced?"), stream=stream
        )
    with pytest.raises(groq.NotFoundError):
        groq_client(app_server_url, bob).chat.completions.create(
            model=model, messages=ask("How often are laptops replaced?"), stream=stream
        )


def test_the_openai_sdk_gets_an_answer_citing_real_passages_of_the_demo_base(
    app_server_url, demo_world, bob
) -> None:
    completion = openai_client(app_server_url, bob).chat.completions.create(
        model=f"kb-{demo_world.knowledge_base.pk}", messages=ask("How often are laptops replaced?")
    )
    message = completion.choices[0].message
    assert completion.object == "chat.completion" and message.content
    assert "36 months" in message.content
    annotations = [a.model_dump() for a in message.annotations or []]
    documents = [a for a in annotations if a["type"] == "document_citation"]
    assert documents, annotations
    first = documents[0]["document_citation"]
    chunk = cited_chunk(documents[0])
    assert chunk.knowledge_base_id == demo_world.knowledge_base.pk
    assert "36 months" in message.content[first["start_index"] : first["end_index"]]
    assert "36 months" in chunk.text
    files = [a["file_citation"] for a in annotations if a["type"] == "file_citation"]
    assert files[0]["filename"] == "employee-handbook.pdf"
    assert files[0]["file_id"] == str(chunk.document_id)
    assert files[0]["document_url"] == (
        f"{app_server_url}/documents/{chunk.document_id}/?passage={chunk.pk}#chunk-{chunk.pk}"
    )
    assert (files[0]["start_index"], files[0]["end_index"]) == (
        first["start_index"],
        first["end_index"],
    )
    assert completion.usage is not None and completion.usage.total_tokens > 0


def test_the_groq_sdk_gets_a_whole_answer_with_document_citations(
    app_server_url, private_base
) -> None:
    completion = groq_client(app_server_url, private_base.owner).chat.completions.create(
        model=f"kb-{private_base.pk}", messages=ask("How often are laptops replaced?")
    )
    message = completion.choices[0].message
    assert message.content and "36 months" in message.content
    cited = [a.document_citation for a in message.annotations or [] if a.document_citation]
    assert cited, message.annotations
    chunk = Chunk.objects.get(pk=int(cited[0].document_id))
    assert chunk.knowledge_base_id == private_base.pk and "36 months" in chunk.text
    assert "36 months" in message.content[cited[0].start_index : cited[0].end_index]
    assert completion.usage is not None and completion.usage.total_tokens > 0


def test_the_groq_sdk_streams_text_annotations_and_usage(app_server_url, private_base) -> None:
    stream = groq_client(app_server_url, private_base.owner).chat.completions.create(
        model=f"kb-{private_base.pk}",
        messages=ask("How often are laptops replaced?"),
        stream=True,
    )
    chunks = list(stream)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "36 months" in content
    annotations = [a for c in chunks if c.choices for a in (c.choices[0].delta.annotations or [])]
    cited = [a.document_citation for a in annotations if a.document_citation is not None]
    assert cited, "no document_citation arrived in the deltas"
    chunk = Chunk.objects.get(pk=int(cited[0].document_id))
    assert chunk.knowledge_base_id == private_base.pk and "36 months" in chunk.text
    assert "36 months" in content[cited[0].start_index : cited[0].end_index]
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].x_groq is not None and chunks[-1].x_groq.usage is not None
    assert chunks[-1].x_groq.usage.total_tokens > 0
    assert len({c.id for c in chunks}) == 1 and chunks[0].object == "chat.completion.chunk"


def test_the_openai_sdk_streams_annotations_as_extra_delta_fields(
    app_server_url, private_base
) -> None:
    stream = openai_client(app_server_url, private_base.owner).chat.completions.create(
        model="all", messages=ask("What is the guest Wi-Fi network called?"), stream=True
    )
    chunks = list(stream)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "LumenGuest" in content
    annotations = [
        a
        for c in chunks
        if c.choices
        for a in (c.choices[0].delta.model_extra or {}).get("annotations", [])
    ]
    assert {a["type"] for a in annotations} == {"document_citation", "file_citation"}
    assert all(c.usage is None for c in chunks)  # include_usage was not asked for


def test_the_openai_sdk_gets_the_usage_chunk_it_asks_for(app_server_url, private_base) -> None:
    stream = openai_client(app_server_url, private_base.owner).chat.completions.create(
        model="all",
        messages=ask("What is the guest Wi-Fi network called?"),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens > 0


def test_a_web_page_source_is_also_a_url_citation(app_server_url, private_base) -> None:
    page = "https://intranet.example/wifi"
    Document.objects.filter(knowledge_base=private_base, title="wifi.md").update(
        source_kind=Document.SourceKind.URL, source_url=page
    )
    completion = groq_client(app_server_url, private_base.owner).chat.completions.create(
        model=f"kb-{private_base.pk}", messages=ask("What is the guest Wi-Fi network called?")
    )
    message = completion.choices[0].message
    urls = [(a.model_extra or {}).get("url_citation") for a in message.annotations or []]
    urls = [u for u in urls if u]
    assert urls and urls[0]["url"] == page and urls[0]["title"] == "wifi.md"
    assert re.fullmatch(
        rf"{app_server_url}/documents/\d+/\?passage=(\d+)#chunk-\1", urls[0]["document_url"]
    )
    assert "LumenGuest" in (message.content or "")[urls[0]["start_index"] : urls[0]["end_index"]]
    assert not [a for a in message.annotations or [] if a.type == "file_citation"]


def test_the_earlier_messages_are_the_history_of_a_follow_up(app_server_url, private_base) -> None:
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is the nightly hotel cap in Europe?"},
        {"role": "assistant", "content": "The nightly hotel cap is 180 euros in Europe."},
        {"role": "user", "content": "And in North America?"},
    ]
    completion = openai_client(app_server_url, private_base.owner).chat.completions.create(
        model=f"kb-{private_base.pk}", messages=messages
    )
    assert "240 US dollars" in (completion.choices[0].message.content or "")
    assert not Conversation.objects.exists()  # the client keeps the conversation


def test_a_fact_only_in_the_request_documents_is_answered_and_cited(
    app_server_url, private_base
) -> None:
    completion = groq_client(app_server_url, private_base.owner).chat.completions.create(
        model=f"kb-{private_base.pk}",
        messages=ask("What is the code name of the Zephyr project?"),
        documents=[{"id": "zephyr-memo", "source": {"type": "text", "text": ZEPHYR}}],
    )
    message = completion.choices[0].message
    assert "BLUE-HERON-42" in (message.content or "")
    cited = [a.document_citation for a in message.annotations or [] if a.document_citation]
    assert [c.document_id for c in cited] == ["zephyr-memo"]
    assert "BLUE-HERON-42" in (message.content or "")[cited[0].start_index : cited[0].end_index]


def test_request_documents_as_plain_strings_through_the_openai_sdk_streamed(
    app_server_url, bob
) -> None:
    stream = openai_client(app_server_url, bob).chat.completions.create(
        model="all",  # bob reads no base: the request's documents are all there is
        messages=ask("What is the code name of the Zephyr project?"),
        stream=True,
        extra_body={"documents": ["Lunch is served at noon.", ZEPHYR]},
    )
    chunks = list(stream)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "BLUE-HERON-42" in content
    annotations = [
        a
        for c in chunks
        if c.choices
        for a in (c.choices[0].delta.model_extra or {}).get("annotations", [])
    ]
    assert [a["document_citation"]["document_id"] for a in annotations] == ["request-2"]


def test_a_wrong_token_is_an_authentication_error(app_server_url) -> None:
    client = openai.OpenAI(
        base_url=f"{app_server_url}/api/v1/openai", api_key="qa_wrong", max_retries=0
    )
    with pytest.raises(openai.AuthenticationError):
        client.models.list()
    bad_groq = groq.Groq(base_url=f"{app_server_url}/api/v1", api_key="qa_wrong", max_retries=0)
    with pytest.raises(groq.AuthenticationError):
        bad_groq.chat.completions.create(model="all", messages=ask("Hello?"))


def test_completions_count_as_asks_for_the_rate_limit(
    app_server_url, private_base, settings
) -> None:
    settings.API_ASK_RATE_PER_MINUTE = 1
    client = openai_client(app_server_url, private_base.owner)
    client.chat.completions.create(model="all", messages=ask("How often are laptops replaced?"))
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="all", messages=ask("What is the Wi-Fi called?"))
    assert int(info.value.response.headers["retry-after"]) >= 1
    assert info.value.code == "rate_limit_exceeded"
