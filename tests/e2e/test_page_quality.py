"""Keyboard, screen-reader labels, phone width and the dark theme, in a real Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import save_screenshot
from tests.e2e.test_ask_flow import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

UNLABELLED_CONTROLS = """() => [...document.querySelectorAll("input, select, textarea, button, a[href]")]
  .filter((el) => el.type !== "hidden" && el.offsetParent !== null)
  .filter((el) => {
    const name = (el.getAttribute("aria-label") || el.textContent || "").trim();
    const labelled = el.labels && el.labels.length > 0;
    return !labelled && !name && !el.getAttribute("aria-labelledby");
  })
  .map((el) => el.outerHTML.slice(0, 120))"""


def ask_laptops(page: Page) -> None:
    page.get_by_label("Question").fill("How often are laptops replaced?")
    page.get_by_role("button", name="Ask").click()
    expect(page.get_by_role("article", name="Answer")).to_contain_text("36 months")


def test_every_control_has_an_accessible_name(page: Page, live_server, demo_world) -> None:
    sign_in(page, live_server.url, demo_world.user.username, demo_world.password)
    ask_laptops(page)
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    page.goto(f"{live_server.url}/search/?q=hotel")
    assert page.evaluate(UNLABELLED_CONTROLS) == []


def test_keyboard_alone_asks_and_previews_a_citation(page: Page, live_server, demo_world) -> None:
    sign_in(page, live_server.url, demo_world.user.username, demo_world.password)
    page.get_by_label("Question").focus()
    page.keyboard.type("How often are laptops replaced?")
    page.keyboard.press("Tab")  # knowledge base
    page.keyboard.press("Tab")  # Ask
    page.keyboard.press("Enter")
    expect(page.get_by_role("article", name="Answer")).to_contain_text("36 months")
    marker = page.locator("a.cite-marker").first
    marker.focus()
    expect(page.locator(".cite-pop:popover-open")).to_contain_text("employee-handbook.pdf")
    page.keyboard.press("Escape")
    expect(page.locator(".cite-pop:popover-open")).to_have_count(0)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_pages_fit_a_phone_width_screen_in_both_themes(
    browser, live_server, demo_world, scheme
) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        sign_in(page, live_server.url, demo_world.user.username, demo_world.password)
        ask_laptops(page)
        for path in ["", "/search/?q=laptop"]:
            if path:
                page.goto(f"{live_server.url}{path}")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path or 'answer page'} scrolls sideways by {overflow}px"
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        dark = background == "rgb(21, 21, 23)"
        assert dark == (scheme == "dark"), background
        if scheme == "dark":
            save_screenshot(page, "search-page-phone-dark.png")
    finally:
        context.close()
