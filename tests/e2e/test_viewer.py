"""The document viewer in a real Chromium: the cited span highlighted in Markdown and HTML,
and on a multi-page PDF the right page with the passage's lines boxed where they are."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from apps.knowledge.indexing import index_document
from apps.knowledge.links import passage_path
from apps.knowledge.models import Document
from apps.knowledge.uploads import add_file_document
from tests.e2e.conftest import save_screenshot
from tests.e2e.test_ask_flow import sign_in
from tests.knowledge.files import pdf_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _indexed(knowledge_base, name: str, data: bytes) -> Document:
    document = add_file_document(knowledge_base=knowledge_base, filename=name, data=data)
    assert index_document(document_id=document.pk).outcome == "indexed"
    return document


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _csp_watch(page: Page) -> list[str]:
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return violations


def test_a_markdown_passage_is_highlighted_as_one_span_and_scrolled_to(
    page: Page, live_server, demo_world
) -> None:
    violations = _csp_watch(page)
    document = next(d for d in demo_world.documents if d.title == "incident-response-runbook.md")
    chunks = list(document.chunks.order_by("ordinal"))
    cited = chunks[-1]
    sign_in(page, live_server.url, demo_world.user.username, demo_world.password)
    page.goto(live_server.url + passage_path(document.pk, cited.pk))
    marks = page.locator("mark.cited")
    expect(marks.first).to_be_in_viewport()
    assert _words(" ".join(marks.all_inner_texts())) == _words(cited.text.replace("#", " "))
    # Formatted, not raw Markdown: the headings are headings.
    expect(page.locator("[data-viewer-text] h2").first).to_be_visible()
    assert "## " not in page.locator("[data-viewer-text]").inner_text()
    # Another passage via the hash: the highlight moves.
    page.evaluate(f"window.location.hash = '#chunk-{chunks[0].pk}'")
    expect(page.locator("mark.cited").first).to_contain_text(_first_words(chunks[0].text))
    save_screenshot(page, "document-viewer-markdown.png")
    assert violations == []


def _first_words(text: str) -> str:
    return " ".join(text.lstrip("# ").split()[:2])


def test_an_html_page_passage_is_highlighted_in_the_formatted_page(
    page: Page, live_server, demo_world
) -> None:
    document = next(d for d in demo_world.documents if d.title == "product-faq.html")
    cited = document.chunks.order_by("-ordinal").first()
    sign_in(page, live_server.url, demo_world.user.username, demo_world.password)
    page.goto(live_server.url + passage_path(document.pk, cited.pk))
    expect(page.locator("[data-viewer-text] h1, [data-viewer-text] h2").first).to_be_visible()
    expect(page.locator("mark.cited").first).to_be_in_viewport()
    highlighted = _words(" ".join(page.locator("mark.cited").all_inner_texts()))
    assert highlighted == _words(cited.text.replace("#", " "))


def test_a_pdf_passage_is_boxed_on_its_own_page_where_its_words_are(
    page: Page, live_server, demo_world
) -> None:
    violations = _csp_watch(page)
    pages = [
        "Page one: the welcome text.",
        "Page two: nothing cited here either.",
        "Hotels are booked through the travel desk.",
        "Page four closes the guide.",
    ]
    document = _indexed(demo_world.knowledge_base, "four-pages.pdf", pdf_bytes(pages))
    cited = document.chunks.get(page=3)
    sign_in(page, live_server.url, demo_world.user.username, demo_world.password)
    page.goto(live_server.url + passage_path(document.pk, cited.pk))
    figure = page.locator('figure.pdf-page[data-pdf-page="3"]')
    image = figure.locator("img")
    expect(image).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    expect(page.get_by_text("Page 3 of 4")).to_be_visible()
    rects = figure.locator("svg[data-pdf-marks] rect")
    expect(rects).to_have_count(1)
    box, frame = rects.first.bounding_box(), image.bounding_box()
    assert box and frame
    # The text was drawn at x = 72 pt, baseline 720 pt of an A4 page (595 × 842 pt).
    assert abs((box["x"] - frame["x"]) / frame["width"] - 72 / 595.3) < 0.01
    assert abs((box["y"] + box["height"] - frame["y"]) / frame["height"] - (842 - 718) / 842) < 0.02
    # Paging away and back.
    page.get_by_role("link", name="Next").click()
    expect(page.get_by_text("Page 4 of 4")).to_be_visible()
    expect(page.locator("svg[data-pdf-marks] rect")).to_have_count(0)
    page.get_by_role("link", name="Back to the cited page (3)").click()
    expect(page.locator("svg[data-pdf-marks] rect")).to_have_count(1)
    save_screenshot(page, "document-viewer-pdf.png")
    assert violations == []
