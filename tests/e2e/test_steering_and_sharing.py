"""In a real Chromium: knowledge-base settings and roles, a question narrowed to a picked
document, a shared conversation opened by a reader and by a non-reader, and the insight page."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import Browser, Page, expect

from apps.chat.answering import ask
from apps.chat.models import Feedback
from tests.e2e.conftest import save_screenshot
from tests.e2e.test_ask_flow import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _user(name: str, *groups: Group) -> User:
    user = User.objects.create_user(name, password=f"{name}-password")
    user.groups.add(*groups)
    return user


def _signed_in_page(browser: Browser, base_url: str, user: User) -> Page:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(f"{user.username}-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Ask your knowledge bases")).to_be_visible()
    return page


def test_the_owner_steers_the_base_and_an_editor_edits_documents_but_not_settings(
    page: Page, browser: Browser, live_server, demo_world
) -> None:
    base = demo_world.knowledge_base
    editors = Group.objects.create(name="handbook-editors")
    editor = _user("erin", editors)
    reader = _user("rhea")
    sign_in(page, live_server.url, demo_world.user.username, demo_world.password)
    page.goto(f"{live_server.url}/kb/{base.pk}/")
    page.get_by_label("Instructions for the model").fill("Answer in two sentences at most.")
    page.get_by_label("Passages sent to the model").fill("4")
    page.get_by_label("Readers may download original files").uncheck()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    expect(page.get_by_label("Passages sent to the model")).to_have_value("4")
    page.get_by_role("group", name="Editor groups").get_by_label("handbook-editors").check()
    page.get_by_role("button", name="Save sharing").click()
    expect(
        page.get_by_role("group", name="Editor groups").get_by_label("handbook-editors")
    ).to_be_checked()
    save_screenshot(page, "knowledge-base-settings.png")

    as_editor = _signed_in_page(browser, live_server.url, editor)
    as_editor.goto(f"{live_server.url}/kb/{base.pk}/")
    expect(as_editor.get_by_role("button", name="Add to knowledge base")).to_be_visible()
    expect(as_editor.get_by_role("heading", name="Settings")).to_have_count(0)
    expect(as_editor.locator(".role-note")).to_contain_text("editor group")

    as_reader = _signed_in_page(browser, live_server.url, reader)
    as_reader.goto(f"{live_server.url}/kb/")
    expect(as_reader.get_by_text("Answer in two sentences at most.")).to_be_visible()
    handbook = next(d for d in demo_world.documents if d.title == "employee-handbook.pdf")
    response = as_reader.goto(f"{live_server.url}/documents/{handbook.pk}/file")
    assert response is not None and response.status == 403
    expect(as_reader.get_by_role("heading", name="Download not allowed")).to_be_visible()


def test_a_question_narrowed_to_a_picked_document_cites_only_it_and_the_follow_up_keeps_it(
    page: Page, live_server, demo_world
) -> None:
    sign_in(page, live_server.url, demo_world.user.username, demo_world.password)
    page.get_by_text("Narrow the question").click()
    page.get_by_role("searchbox", name="Documents").fill("travel")
    page.get_by_role("button", name="travel-and-expenses.md").click()
    chips = page.locator("[data-narrowed]")
    expect(chips).to_be_visible()
    expect(chips).to_contain_text("travel-and-expenses.md")
    page.get_by_label("Question").fill("What may I spend on hotels?")
    page.get_by_role("button", name="Ask", exact=True).click()
    expect(page).to_have_url(re.compile(r"/c/\d+/$"))
    answer = page.get_by_role("article", name="Answer").last
    expect(answer.locator("[data-filter-note]")).to_contain_text(
        "Asked within travel-and-expenses.md"
    )
    # The streamed first answer brings its conversation's controls without a reload.
    expect(page.get_by_role("heading", name="What may I spend on hotels?")).to_be_visible()
    page.get_by_text("Share or export").click()
    page.get_by_role("button", name="Share a read-only link").click()
    expect(page.get_by_label("Read-only link")).to_have_value(re.compile(r"/shared/"))
    titles = answer.locator("ol.sources > li > a:first-child").all_inner_texts()
    assert titles and set(titles) == {"travel-and-expenses.md"}
    more = answer.locator(".more-context .context-list > li > a").all_text_contents()
    assert set(more) <= {"travel-and-expenses.md"}  # nothing else was even retrieved
    expect(page.locator("[data-narrowed]")).to_contain_text("travel-and-expenses.md")
    # The feedback icons are drawn in the text colour (they were white on white).
    stroke = page.evaluate("getComputedStyle(document.querySelector('.thumb svg')).stroke")
    assert stroke == page.evaluate("getComputedStyle(document.body).color")
    save_screenshot(page, "focused-question.png")
    page.locator("[data-narrowed]").get_by_role(
        "button", name="Remove travel-and-expenses.md"
    ).click()
    expect(page.locator("[data-narrowed]")).to_be_hidden()


def test_a_shared_conversation_opens_for_a_reader_and_is_refused_to_a_non_reader(
    page: Page, browser: Browser, live_server, demo_world
) -> None:
    base = demo_world.knowledge_base
    base.shared_with_all = False
    base.save()
    readers = Group.objects.create(name="handbook-readers")
    base.groups.add(readers)
    reader, outsider = _user("rhea", readers), _user("otto")
    ask(
        user=demo_world.user,
        question="How often are laptops replaced?",
        knowledge_base_ids=[base.pk],
    )

    sign_in(page, live_server.url, demo_world.user.username, demo_world.password)
    page.get_by_role("link", name="How often are laptops replaced?").click()
    page.get_by_text("Share or export").click()
    page.get_by_role("button", name="Share a read-only link").click()
    link = page.get_by_label("Read-only link").input_value()
    assert re.fullmatch(rf"{re.escape(live_server.url)}/shared/[A-Za-z0-9_-]{{32}}/", link)

    as_reader = _signed_in_page(browser, live_server.url, reader)
    as_reader.goto(link)
    shared_answer = as_reader.get_by_role("article", name="Answer")
    expect(shared_answer).to_contain_text("36 months")
    expect(as_reader.locator(".shared-by")).to_contain_text("Shared by demo")
    expect(shared_answer.locator("[data-feedback]")).to_have_count(0)
    save_screenshot(as_reader, "shared-conversation.png")
    shared_answer.locator("a.cite-marker").first.click()
    expect(as_reader).to_have_url(re.compile(r"/documents/\d+/\?passage=\d+#chunk-\d+$"))

    as_outsider = _signed_in_page(browser, live_server.url, outsider)
    response = as_outsider.goto(link)
    assert response is not None and response.status == 403
    expect(as_outsider.get_by_role("heading", name="Not shared with you")).to_be_visible()
    expect(as_outsider.locator("main")).not_to_contain_text("36 months")

    page.get_by_role("button", name="Stop sharing").click()
    response = as_reader.goto(link)
    assert response is not None and response.status == 404


def test_the_insight_page_shows_the_figures_and_the_unanswered_question(
    page: Page, live_server, demo_world
) -> None:
    base = demo_world.knowledge_base
    user = demo_world.user
    for question in ("How often are laptops replaced?", "What may I spend on hotels?"):
        ask(user=user, question=question, knowledge_base_ids=[base.pk])
    missing = ask(
        user=user, question="Who won the football world cup in 1998?", knowledge_base_ids=[base.pk]
    )
    Feedback.objects.create(
        message=missing.message, user=user, rating=-1, comment="We need a sports FAQ"
    )

    sign_in(page, live_server.url, user.username, demo_world.password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Insight").click()
    expect(page.get_by_role("heading", name="Insight across your knowledge bases")).to_be_visible()
    page.get_by_role("link", name=base.name).first.click()
    expect(page.locator('[data-figure="answers"]')).to_have_text("3")
    gaps = page.locator("[data-gap-group]")
    expect(gaps.first).to_contain_text("Who won the football world cup in 1998?")
    expect(page.locator(".negative-feedback")).to_contain_text("We need a sports FAQ")
    expect(page.locator(".most-cited")).to_contain_text("employee-handbook.pdf")
    save_screenshot(page, "insight.png")
