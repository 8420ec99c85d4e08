"""The ask pipeline end to end on the demo knowledge base, through the local provider."""

from __future__ import annotations

import pytest

from apps.chat.answering import answer_events, ask
from apps.chat.events import Finished
from apps.chat.models import Message
from apps.modelapi.errors import ModelApiError
from tests.servers import Reply, fake_groq

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("question", "document", "phrase"),
    [
        ("How often are laptops replaced?", "employee-handbook.pdf", "36 months"),
        ("What is the nightly hotel cap in Europe?", "travel-and-expenses.md", "180 euros"),
        (
            "How quickly must a severity 1 incident be acknowledged?",
            "incident-response-runbook.md",
            "5 minutes",
        ),
        ("What is the guest Wi-Fi network called?", "office-guide.txt", "LumenGuest"),
        ("How large can a file be in Lumen Sync?", "product-faq.html", "4 GB"),
    ],
)
def test_a_fact_in_one_document_is_answered_with_a_citation_of_that_document(
    demo_world, question: str, document: str, phrase: str
) -> None:
    outcome = ask(
        user=demo_world.user,
        question=question,
        knowledge_base_ids=[demo_world.knowledge_base.pk],
    )
    answer = outcome.message
    assert phrase in answer.content
    cited_titles = {c["title"] for c in answer.citations}
    assert document in cited_titles
    for citation in answer.citations:
        assert 0 <= citation["start"] < citation["end"] <= len(answer.content)
        assert answer.content[citation["start"] : citation["end"]] in citation["text"].replace(
            "\n", " "
        )


def test_pdf_citations_carry_the_page_number(demo_world) -> None:
    outcome = ask(
        user=demo_world.user,
        question="How many weeks of parental leave are there?",
        knowledge_base_ids=[demo_world.knowledge_base.pk],
    )
    pages = {c["page"] for c in outcome.message.citations if c["title"] == "employee-handbook.pdf"}
    assert pages == {3}


def test_question_and_answer_are_stored_as_a_conversation_of_the_asker(demo_world) -> None:
    outcome = ask(
        user=demo_world.user,
        question="When must expense reports be filed?",
        knowledge_base_ids=[demo_world.knowledge_base.pk],
    )
    roles = list(outcome.conversation.messages.values_list("role", flat=True))
    assert roles == [Message.Role.USER, Message.Role.ASSISTANT]
    assert outcome.conversation.user == demo_world.user
    assert outcome.message.retrieved and outcome.message.metadata["reranked"] is True


def test_chat_server_down_raises_and_stores_nothing(demo_world, settings) -> None:
    settings.CHAT_BASE_URL = "http://127.0.0.1:9/v1"
    settings.MODEL_API_MAX_RETRIES = 0
    with pytest.raises(ModelApiError):
        ask(
            user=demo_world.user,
            question="Hotel cap?",
            knowledge_base_ids=[demo_world.knowledge_base.pk],
        )
    assert not Message.objects.exists()


def test_reranker_down_falls_back_to_fused_order_and_says_so(demo_world, settings) -> None:
    settings.RERANK_BASE_URL = "http://127.0.0.1:9/v1"
    settings.MODEL_API_MAX_RETRIES = 0
    outcome = ask(
        user=demo_world.user,
        question="What is the nightly hotel cap in Europe?",
        knowledge_base_ids=[demo_world.knowledge_base.pk],
    )
    assert "180 euros" in outcome.message.content
    assert outcome.message.metadata["reranked"] is False
    assert "Reranker unavailable" in outcome.message.metadata["note"]


@pytest.mark.parametrize("stream", [False, True])
def test_a_file_citation_is_stored_as_one_in_both_paths(demo_world, settings, stream) -> None:
    content = "The cap is 180 euros."
    annotation = {"type": "file_citation", "file_id": "1", "index": len(content)}
    message = {"role": "assistant", "content": content, "annotations": [annotation]}
    if stream:
        chunk = {"id": "c", "choices": [{"index": 0, "delta": message, "finish_reason": "stop"}]}
        reply = Reply(stream=[chunk])
    else:
        reply = Reply(body={"id": "c", "choices": [{"index": 0, "message": message}]})
    with fake_groq() as fake:
        fake.reply("chat/completions", reply)
        settings.CHAT_BASE_URL = fake.base_url
        settings.CITATION_MODE = "documents"
        [outcome] = [
            event.outcome
            for event in answer_events(
                user=demo_world.user,
                question="What is the nightly hotel cap in Europe?",
                knowledge_base_ids=[demo_world.knowledge_base.pk],
                stream=stream,
            )
            if isinstance(event, Finished)
        ]
        assert fake.requests[0]["json"].get("stream", False) is stream
    [citation] = outcome.message.citations
    assert citation["kind"] == "file_citation" and citation["end"] == len(content)
    assert citation["chunk_id"] == outcome.message.retrieved[0]["chunk_id"]
