"""Staff in a real Chromium: choose several files and a URL, watch each reach its final state."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_ask_flow import sign_in
from tests.knowledge.files import docx_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_uploaded_files_show_progress_then_ready_or_a_reason(
    page: Page, live_server, demo_world, start_worker, tmp_path
) -> None:
    start_worker()
    good = tmp_path / "sync-guide.docx"
    good.write_bytes(docx_bytes(("Heading 1", "Limits"), ("", "Files up to 4 GB sync fine.")))
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nThe kitchen is cleaned at 18:30.")
    bad = tmp_path / "photo.pdf"
    bad.write_bytes(b"GIF89a" + b"\x00" * 32)
    broken = tmp_path / "whiteboard.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)

    sign_in(page, live_server.url, demo_world.user.username, demo_world.password)
    page.get_by_role("link", name="Knowledge bases").click()
    page.get_by_role("link", name="Manage documents").click()
    expect(page.get_by_text("Up to 50 files")).to_be_visible()

    page.locator("input[type=file]").set_input_files([str(good), str(notes), str(bad), str(broken)])
    page.get_by_label("Web pages, one URL per line").fill("http://127.0.0.1:1/admin")
    page.get_by_role("button", name="Add to knowledge base").click()

    items = page.locator("[data-upload-items] li")
    expect(items.filter(has_text="sync-guide.docx")).to_contain_text("Ready", timeout=60_000)
    expect(items.filter(has_text="notes.md")).to_contain_text("Ready", timeout=60_000)
    expect(items.filter(has_text="photo.pdf")).to_contain_text("GIF image")
    # An image goes to OCR; a broken one fails alone, with a sentence (not Pillow's repr).
    whiteboard = items.filter(has_text="whiteboard.png")
    expect(whiteboard).to_contain_text("damaged, truncated or not really an image", timeout=60_000)
    expect(whiteboard).not_to_contain_text("BytesIO")
    expect(items.filter(has_text="127.0.0.1:1")).to_contain_text(
        "private or reserved address", timeout=60_000
    )
    assert (
        items.filter(has_text="sync-guide.docx").locator("progress").get_attribute("value") == "100"
    )
