"""Streaming, stop, errors with retry, follow-ups and team search in a real Chromium."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from apps.chat.models import Conversation, Feedback, Message
from tests.e2e.conftest import save_screenshot
from tests.e2e.test_ask_flow import sign_in
from tests.servers import Reply, fake_groq

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ANSWER_PIECES = [
    "The nightly hotel cap ",
    "is 180 euros ",
    "in Europe.",
    " Receipts ",
    "are required.",
]


def _chunk(delta: dict, **extra) -> dict:
    return {
        "id": "chatcmpl-e2e",
        "object": "chat.completion.chunk",
        "model": "llama-3.3-70b-versatile",
        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        **extra,
    }


def streamed_answer() -> list[dict]:
    """Text in pieces; the citation of the first sentence arrives with its last piece."""
    first_sentence = len("".join(ANSWER_PIECES[:3]))
    chunks = [_chunk({"role": "assistant", "content": ""}, x_groq={"id": "req_e2e"})]
    for index, piece in enumerate(ANSWER_PIECES):
        delta: dict = {"content": piece}
        if index == 2:
            delta["annotations"] = [
                {
                    "type": "document_citation",
                    "document_citation": {
                        "document_id": "1",
                        "start_index": 0,
                        "end_index": first_sentence,
                    },
                }
            ]
        chunks.append(_chunk(delta))
    return chunks


def ask(page: Page, question: str) -> None:
    page.get_by_label("Question").fill(question)
    page.get_by_role("button", name="Ask").click()


def record_answer_snapshots(page: Page) -> None:
    """Keep every state of the streaming answer's text (and whether a marker was shown)."""
    page.evaluate(
        """() => {
          window.snapshots = [];
          new MutationObserver(() => {
            const body = document.querySelector(".answer.streaming .answer-text");
            if (body) window.snapshots.push({text: body.textContent,
                                             markers: body.querySelectorAll(".cite-marker").length});
          }).observe(document.querySelector("[data-thread]"), {subtree: true, childList: true,
                                                               characterData: true});
        }"""
    )


@pytest.fixture
def signed_in(page: Page, live_server, demo_world) -> Page:
    sign_in(page, live_server.url, demo_world.user.username, demo_world.password)
    return page


def test_a_streamed_answer_appears_progressively_with_its_marker(signed_in, settings) -> None:
    page = signed_in
    with fake_groq() as fake:
        fake.reply("chat/completions", Reply(stream=streamed_answer(), interval=0.3))
        settings.CHAT_BASE_URL = fake.base_url
        settings.CITATION_MODE = "documents"
        record_answer_snapshots(page)
        ask(page, "What is the hotel cap in Europe?")
        answer = page.get_by_role("article", name="Answer")
        expect(answer).to_contain_text("Receipts are required.")
        expect(answer.locator("a.cite-marker")).to_have_count(1)
    snapshots = page.evaluate("window.snapshots")
    texts = [s["text"] for s in snapshots if s["text"]]
    lengths = sorted({len(t) for t in texts})
    assert len(lengths) >= 3, texts  # several partial states, not one final paint
    assert any(s["markers"] and "Receipts" not in s["text"] for s in snapshots), snapshots
    assert Message.objects.filter(role="assistant").get().metadata["ttft_seconds"] > 0


def test_the_stop_button_cancels_the_answer_and_stores_nothing(signed_in, settings) -> None:
    page = signed_in
    slow = streamed_answer() + [_chunk({"content": " More."}) for _ in range(30)]
    with fake_groq() as fake:
        fake.reply("chat/completions", Reply(stream=slow, interval=0.5))
        settings.CHAT_BASE_URL = fake.base_url
        settings.CITATION_MODE = "documents"
        ask(page, "What is the hotel cap in Europe?")
        answer = page.get_by_role("article", name="Answer")
        expect(answer).to_contain_text("hotel cap")
        page.get_by_role("button", name="Stop").click()
        expect(answer.get_by_role("alert")).to_contain_text("Stopped.")
        expect(answer.get_by_role("button", name="Retry")).to_be_visible()
        expect(page.get_by_role("button", name="Stop")).to_be_hidden()
        deadline = time.monotonic() + 20
        while not fake.disconnects and time.monotonic() < deadline:
            time.sleep(0.2)
        assert fake.disconnects == 1  # the upstream request was closed, not read to the end
    assert not Conversation.objects.exists() and not Message.objects.exists()


def test_a_model_server_error_is_shown_with_a_retry_that_works(signed_in, settings) -> None:
    page = signed_in
    unavailable = Reply(
        503, {"error": {"message": "Service Unavailable", "type": "internal_server_error"}}
    )
    with fake_groq() as fake:
        fake.reply("chat/completions", unavailable, unavailable, Reply(stream=streamed_answer()))
        settings.CHAT_BASE_URL = fake.base_url
        settings.CITATION_MODE = "documents"
        ask(page, "What is the hotel cap in Europe?")
        alert = page.get_by_role("alert")
        expect(alert).to_be_visible()
        assert "model server" in alert.inner_text().lower()
        assert not Message.objects.exists()
        page.get_by_role("button", name="Retry").click()
        answer = page.get_by_role("article", name="Answer")
        expect(answer).to_contain_text("Receipts are required.")
    expect(page.get_by_role("alert")).to_have_count(0)
    assert Message.objects.filter(role="assistant").count() == 1


def test_a_follow_up_question_uses_the_conversation(signed_in) -> None:
    page = signed_in
    ask(page, "What is the hotel cap in Europe?")
    first = page.get_by_role("article", name="Answer").first
    expect(first).to_contain_text("180 euros")
    ask(page, "And in North America?")
    answers = page.get_by_role("article", name="Answer")
    expect(answers).to_have_count(2)
    expect(answers.nth(1)).to_contain_text("240 US dollars")
    expect(answers.nth(1).locator(".search-query")).to_contain_text("hotel")
    conversation = Conversation.objects.get()
    assert conversation.messages.count() == 4

    answers.nth(1).get_by_label("Comment on this answer (optional)").fill("Right figure")
    answers.nth(1).get_by_role(
        "button", name="Helpful", exact=True
    ).click()  # on the streamed answer
    expect(answers.nth(1).get_by_role("status")).to_have_text("Thanks, saved.")
    feedback = Feedback.objects.get()
    assert (feedback.rating, feedback.comment) == (1, "Right figure")

    page.reload()
    expect(page.get_by_role("article", name="Answer")).to_have_count(2)
    expect(page.get_by_role("button", name="Helpful", exact=True).nth(1)).to_have_attribute(
        "aria-pressed", "true"
    )


def test_search_shows_highlighted_passages_as_you_type_and_filters_by_type(
    signed_in, live_server
) -> None:
    page = signed_in
    page.get_by_role("link", name="Search").click()
    page.get_by_label("Search passages").press_sequentially("laptop replaced", delay=30)
    results = page.locator("ol.results > li")
    expect(results.first).to_be_visible()
    expect(results.first.locator("mark").first).to_be_visible()
    assert "q=laptop+replaced" in page.url  # the address can be shared or reloaded
    save_screenshot(page, "search-page.png")

    page.get_by_label("File type").select_option(label="Web pages")
    expect(results.first).to_contain_text("product-faq.html")
    for text in results.all_inner_texts():
        assert "product-faq.html" in text
