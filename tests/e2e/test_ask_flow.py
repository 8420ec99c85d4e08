"""A person in a real Chromium: sign in, ask, see a citation marker, open the passage."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import save_screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Ask your knowledge bases")).to_be_visible()


def test_asking_shows_a_citation_marker_that_opens_the_cited_passage(
    page: Page, live_server, demo_world
) -> None:
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    sign_in(page, live_server.url, demo_world.user.username, demo_world.password)
    page.get_by_label("Knowledge base").select_option(label=demo_world.knowledge_base.name)
    page.get_by_label("Question").fill("How often are laptops replaced?")
    page.get_by_role("button", name="Ask").click()

    answer = page.get_by_role("article", name="Answer")
    expect(answer).to_contain_text("36 months")
    expect(page).to_have_url(re.compile(r"/c/\d+/$"))  # streamed, then the stored answer
    marker = answer.locator("a.cite-marker").first
    expect(marker).to_be_visible()
    marker.hover()

    preview = page.locator(".cite-pop:popover-open")
    expect(preview).to_be_visible()
    expect(preview).to_contain_text("employee-handbook.pdf")
    expect(preview).to_contain_text("page 2")
    expect(preview.locator("blockquote")).to_contain_text("Laptops are replaced every 36 months")
    expect(preview.locator("blockquote mark").first).to_be_visible()  # the cited words
    save_screenshot(page, "answer-page.png")

    marker.click()
    expect(page).to_have_url(re.compile(r"/documents/\d+/\?passage=\d+#chunk-\d+$"))
    # The PDF opens at the cited page, the passage's lines marked on the page image.
    expect(page.locator('figure.pdf-page[data-pdf-page="2"] img')).to_be_visible()
    expect(page.locator("svg[data-pdf-marks] rect").first).to_be_attached()
    page.get_by_role("navigation", name="View").get_by_role("link", name="Text").click()
    expect(page.locator("mark.cited").first).to_be_visible()
    expect(page.locator("[data-viewer-text]")).to_contain_text("36 months")
    assert "36 months" in " ".join(page.locator("mark.cited").all_inner_texts())
    assert violations == []


def test_signed_out_visitors_are_sent_to_sign_in(page: Page, live_server) -> None:
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")
