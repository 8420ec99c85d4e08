"""A recording in a real Chromium: an answer cites a meeting, its marker opens the viewer,
whose player stands at the cited second with the transcript beside it; the line being said
follows playback, and a line's time plays from there."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from apps.knowledge.indexing import index_document
from apps.knowledge.models import Document
from apps.knowledge.uploads import add_file_document
from tests.e2e.conftest import save_screenshot
from tests.e2e.test_ask_flow import sign_in
from tests.speech import encoded, speech

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SENTENCES = [
    "Welcome to the weekly planning meeting.",
    "The new laptops arrive next week.",
    "The office in Lisbon opens in March.",
    "That is all for today.",
]


def _player_time(page: Page) -> float:
    return float(page.locator("[data-player]").evaluate("player => player.currentTime"))


def test_a_marker_citing_a_meeting_opens_the_player_at_the_cited_second(
    page: Page, live_server, demo_world, settings
) -> None:
    settings.CHUNK_TARGET_TOKENS = 12  # one sentence a passage
    settings.CHUNK_OVERLAP_TOKENS = 0
    meeting = speech(SENTENCES, gap_seconds=2.0)
    recording = add_file_document(
        knowledge_base=demo_world.knowledge_base,
        filename="weekly-sync.mp3",
        data=encoded(meeting.wav, "mp3"),
    )
    index_document(document_id=recording.pk)
    recording.refresh_from_db()
    assert recording.status == Document.Status.READY, recording.error
    lisbon = next(c for c in recording.chunks.all() if "lisbon" in c.text.lower())
    assert lisbon.start_seconds is not None

    sign_in(page, live_server.url, demo_world.user.username, demo_world.password)
    page.get_by_label("Knowledge base").select_option(label=demo_world.knowledge_base.name)
    page.get_by_label("Question").fill("When does the office in Lisbon open?")
    page.get_by_role("button", name="Ask").click()
    answer = page.get_by_role("article", name="Answer")
    expect(answer).to_contain_text("March")
    expect(page).to_have_url(re.compile(r"/c/\d+/$"))
    marker = answer.locator(f'a.cite-marker[href*="passage={lisbon.pk}"]').first
    expect(marker).to_be_visible()
    marker.hover()
    preview = page.locator(".cite-pop:popover-open")
    expect(preview).to_contain_text("weekly-sync.mp3")
    expect(preview).to_contain_text(re.compile(r"at 0:\d\d"))
    marker.click()

    expect(page).to_have_url(re.compile(rf"/documents/{recording.pk}/\?passage={lisbon.pk}"))
    player = page.locator("audio[data-player]")
    expect(player).to_be_visible()
    page.wait_for_function(
        "() => document.querySelector('[data-player]').readyState >= 1", timeout=15_000
    )
    assert abs(_player_time(page) - lisbon.start_seconds) < 0.3
    cited = page.locator("[data-transcript] li.cited-line")
    expect(cited).to_have_count(1)
    expect(cited).to_contain_text("Lisbon")
    expect(page.locator("[data-transcript] li.playing")).to_contain_text("Lisbon")
    save_screenshot(page, "recording-viewer.png")

    # A line's time plays from there, and the marked line follows.
    first = page.locator("[data-transcript] li").first
    first.get_by_role("button").click()
    page.wait_for_function(
        "() => { const p = document.querySelector('[data-player]'); "
        "return !p.paused && p.currentTime > 0.2; }",
        timeout=15_000,
    )
    assert _player_time(page) < lisbon.start_seconds
    expect(first).to_have_class(re.compile(r"\bplaying\b"))
    page.locator("[data-player]").evaluate("player => player.pause()")
