"""The viewer's rendering: structure kept, text escaped, every passage anchored in place."""

from __future__ import annotations

import re

from apps.knowledge.chunking import chunk_text
from apps.knowledge.extracted import Extracted, join_pages
from apps.knowledge.pdfpages import locate, page_layout, reduce_text, render_page
from apps.knowledge.viewer import PassageSpan, render_content
from tests.knowledge.files import pdf_bytes

GUIDE = (
    "# Guide\n\nIntro text here.\n\n## Hotels\n\nBook *hotels* early. Pay later.\n\n- one\n- two"
)


def _between(html: str, chunk_id: int) -> str:
    """The HTML between a passage's start and end anchors."""
    start = html.index(f'id="chunk-{chunk_id}"')
    end = html.index(f'data-passage-end="{chunk_id}"')
    return html[start:end]


def test_markdown_is_rendered_with_its_headings_lists_and_emphasis() -> None:
    html = render_content(GUIDE, passages=[], markdown=True)
    assert "<h1>Guide</h1>" in html and "<h2>Hotels</h2>" in html
    assert "<em>hotels</em>" in html and "<li>one</li>" in html
    assert "## Hotels" not in html


def test_other_text_keeps_headings_and_lists_but_no_markdown_formatting() -> None:
    html = render_content(GUIDE, passages=[], markdown=False)
    assert "<h2>Hotels</h2>" in html and "<ul><li>one</li><li>two</li></ul>" in html
    assert "Book *hotels* early." in html and "<em>" not in html


def test_html_and_scripts_in_the_text_are_escaped_in_both_modes() -> None:
    text = "# <b>Title</b>\n\n<script>alert(1)</script> and <img src=http://evil/x.png>"
    for markdown in (True, False):
        html = render_content(text, passages=[], markdown=markdown)
        assert "<script" not in html and "<img" not in html and "<b>" not in html
        assert "&lt;script&gt;" in html


def test_markdown_images_are_dropped_and_links_kept_without_referrer() -> None:
    text = "See ![logo](http://tracker.example/p.png) and [the wiki](https://wiki.example/a)."
    html = render_content(text, passages=[], markdown=True)
    assert "<img" not in html and "tracker.example" not in html
    assert 'href="https://wiki.example/a"' in html and 'rel="noopener noreferrer nofollow"' in html


def test_each_passage_is_anchored_around_exactly_its_words() -> None:
    hotels = GUIDE.index("## Hotels")
    later = GUIDE.index(" Pay later")
    passages = [PassageSpan(5, 0, hotels - 2), PassageSpan(7, hotels, later)]
    for markdown in (True, False):
        html = render_content(GUIDE, passages=passages, markdown=markdown)
        first = re.sub(r"<[^>]+>", "", _between(html, 5))
        second = re.sub(r"<[^>]+>", "", _between(html, 7))
        assert "Guide" in first and "Intro text here." in first and "Hotels" not in first
        assert "Hotels" in second and "Book" in second and "Pay later" not in second
        # A passage starting on a heading line leaves the heading a heading.
        assert "<h2>Hotels</h2>" in html


def test_a_marker_that_would_land_in_a_link_address_is_dropped_not_expanded() -> None:
    text = "Read [the page](https://example.org/a-long-path) now."
    inside = text.index("long")
    html = render_content(text, passages=[PassageSpan(3, inside, len(text))], markdown=True)
    assert 'href="https://example.org/a-long-path"' in html
    assert "\ue010" not in html and "\ue011" not in html
    for tag in re.findall(r"<a [^>]*>", html):
        assert "span" not in tag


def test_paged_text_gets_one_labelled_section_per_page_with_its_passages() -> None:
    extracted = join_pages(["# One\n\nFirst page words.", "Second page words."])
    drafts = chunk_text(extracted)
    passages = [PassageSpan(d.ordinal + 1, d.char_start, d.char_end) for d in drafts]
    html = render_content(
        extracted.text,
        passages=passages,
        pages=[[p.page, p.start, p.end] for p in extracted.pages],
        page_links=True,
    )
    page_two = html[html.index('id="page-2"') :]
    assert 'Page 2 · <a href="?page=2">page image</a>' in page_two
    second = next(d for d in drafts if d.page == 2)
    assert f'id="chunk-{second.ordinal + 1}"' in page_two
    assert "Slide 1" in render_content(
        extracted.text, passages=[], pages=[[1, 0, 5]], page_kind="slide"
    )


def test_chunks_carry_their_heading_path() -> None:
    text = (
        "# Handbook\n\nWelcome.\n\n## Travel\n\nTravel rules.\n\n### Hotels\n\nHotel rules."
        "\n\n## Equipment\n\nLaptops."
    )
    sections = {d.text.split("\n")[-1]: d.section for d in chunk_text(Extracted(text=text))}
    assert sections["Hotel rules."] == "Handbook › Travel › Hotels"
    assert sections["Laptops."] == "Handbook › Equipment"
    assert sections["Welcome."] == "Handbook"


def test_a_passage_is_found_on_a_pdf_page_despite_spacing_and_case() -> None:
    page = reduce_text("Hotels are booked  through the\ntravel desk.")
    assert locate(page, reduce_text("HOTELS are booked through the travel desk")) is not None
    assert locate(page, reduce_text("nothing like it")) is None


def test_the_cited_lines_are_boxed_on_their_own_pdf_page_only() -> None:
    data = pdf_bytes(["Alpha beta gamma on page one.", "Hotels are booked through the desk."])
    layout = page_layout(data, 2, "Hotels are booked through the desk.")
    assert layout.page_count == 2 and len(layout.boxes) == 1
    box = layout.boxes[0]
    # reportlab drew the line at x=72 pt, baseline 720 pt on an A4 page (595 × 842 pt).
    assert abs(box.left - 72 / 595.3) < 0.01 and abs(box.top - (842 - 729) / 842) < 0.02
    assert page_layout(data, 1, "Hotels are booked through the desk.").boxes == ()


def test_a_pdf_page_renders_as_a_png_and_a_missing_page_is_a_clear_error() -> None:
    data = pdf_bytes(["One.", "Two."])
    assert render_page(data, 2).startswith(b"\x89PNG")
    try:
        render_page(data, 3)
    except Exception as exc:
        assert "has no page 3; it has 2" in str(exc)
    else:
        raise AssertionError("page 3 of 2 must fail")
