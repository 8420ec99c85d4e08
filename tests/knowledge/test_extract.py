from __future__ import annotations

import pytest

from apps.knowledge.extract import (
    MIME_HTML,
    MIME_MARKDOWN,
    MIME_PDF,
    MIME_TEXT,
    ExtractionError,
    detect_mime_type,
    extract,
)


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (b"%PDF-1.7\n...", "notes.txt", MIME_PDF),
        (b"<!DOCTYPE html><html><body>x</body></html>", "page", MIME_HTML),
        (b"# Title\n\ntext", "readme.md", MIME_MARKDOWN),
        (b"plain words", "notes.txt", MIME_TEXT),
    ],
)
def test_type_is_decided_from_content_first(data: bytes, filename: str, expected: str) -> None:
    assert detect_mime_type(data, filename) == expected


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"GIF89a\x00\x00", "GIF image"),
        (b"\x7fELF\x02\x01\x01", "executable"),
        (b"\x00\x01\x02\x03\x80\x81\xfe\xff", "not UTF-8"),
    ],
)
def test_binary_content_is_refused_as_unsupported_whatever_its_name(
    data: bytes, reason: str
) -> None:
    with pytest.raises(ExtractionError, match="Unsupported file type") as info:
        detect_mime_type(data, "innocent.md")
    assert reason in str(info.value)


def test_corrupt_pdf_fails_with_a_readable_reason() -> None:
    with pytest.raises(ExtractionError, match="PDF"):
        extract(b"%PDF-1.4\nthis is not really a pdf at all", MIME_PDF)


def test_html_extraction_keeps_headings_and_drops_scripts_and_navigation() -> None:
    html = (
        "<html><head><title>FAQ</title><script>alert(1)</script></head><body>"
        "<nav>Home Pricing</nav><h2>Limits</h2><p>Files up to <b>4 GB</b>.</p>"
        "<footer>(c)</footer></body></html>"
    )
    extracted = extract(html.encode(), MIME_HTML)
    assert extracted.title == "FAQ"
    assert extracted.text == "## Limits\n\nFiles up to 4 GB."
    assert "alert" not in extracted.text and "Pricing" not in extracted.text
