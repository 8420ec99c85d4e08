"""The document viewer through its URLs: formatted text, PDF pages with the cited lines
marked, and every odd parameter or foreign id answered without an error page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.knowledge.indexing import index_document
from apps.knowledge.models import Document
from apps.knowledge.uploads import add_file_document
from tests.knowledge.files import pdf_bytes

pytestmark = pytest.mark.django_db

HTML_PAGE = b"""<!doctype html><html><head><title>Onboarding</title></head><body>
<nav>Menu</nav><h1>Onboarding</h1><p>Welcome to the team.</p>
<h2>First week</h2><p>Meet your <b>buddy</b> on Monday.</p><script>alert(1)</script>
</body></html>"""


@pytest.fixture
def reader(client, alice):
    client.force_login(alice)
    return client


def _indexed(knowledge_base, name: str, data: bytes) -> Document:
    document = add_file_document(knowledge_base=knowledge_base, filename=name, data=data)
    assert index_document(document_id=document.pk).outcome == "indexed"
    document.refresh_from_db()
    return document


def _view(client, document: Document, **params: object) -> str:
    response = client.get(reverse("knowledge:document", args=[document.pk]), params)
    assert response.status_code == 200
    return response.content.decode()


def test_a_markdown_document_is_shown_formatted_with_the_cited_passage_anchored(
    reader, knowledge_base
) -> None:
    text = b"# Travel\n\nIntro.\n\n## Hotels\n\nBook **early** through the travel desk.\n"
    document = _indexed(knowledge_base, "travel.md", text)
    cited = document.chunks.get(text__contains="travel desk")
    html = _view(reader, document, passage=cited.pk)
    assert "<h2>Hotels</h2>" in html and "<strong>early</strong>" in html
    assert "## Hotels" not in html
    assert f'data-passage="{cited.pk}"' in html and f'data-passage-end="{cited.pk}"' in html
    assert "Cited passage: Travel › Hotels" in html


def test_an_html_page_is_shown_as_headings_and_paragraphs_without_its_script(
    reader, knowledge_base
) -> None:
    document = _indexed(knowledge_base, "onboarding.html", HTML_PAGE)
    html = _view(reader, document)
    assert "<h1>Onboarding</h1>" in html and "<h2>First week</h2>" in html
    assert "<p>Meet your buddy on Monday.</p>" in html
    assert "alert(1)" not in html


def test_a_pdf_opens_at_the_cited_page_with_the_passage_boxed_on_it(reader, knowledge_base) -> None:
    data = pdf_bytes(["Welcome to page one.", "Hotels are booked through the desk.", "Three."])
    document = _indexed(knowledge_base, "guide.pdf", data)
    cited = document.chunks.get(page=2)
    html = _view(reader, document, passage=cited.pk)
    assert 'data-pdf-page="2"' in html and "Page 2 of 3" in html
    image = reverse("knowledge:document_page_image", args=[document.pk, 2])
    assert f'src="{image}"' in html
    assert len(re.findall(r"<rect ", html)) == 1
    # Another page of the same document: no boxes, and a way back to the cited page.
    other = _view(reader, document, passage=cited.pk, page=3)
    assert "<rect " not in other and "Back to the cited page (2)" in other
    # The text view of the same passage.
    text = _view(reader, document, passage=cited.pk, view="text")
    assert 'id="page-2"' in text and f'id="chunk-{cited.pk}"' in text


def test_a_page_image_is_a_png_and_a_page_the_pdf_lacks_is_404(reader, knowledge_base) -> None:
    document = _indexed(knowledge_base, "two.pdf", pdf_bytes(["One page here.", "Two."]))
    response = reader.get(reverse("knowledge:document_page_image", args=[document.pk, 1]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
    assert "private" in response["Cache-Control"]
    missing = reader.get(reverse("knowledge:document_page_image", args=[document.pk, 9]))
    assert missing.status_code == 404 and b"has no page 9; it has 2" in missing.content
    html = _view(reader, document, page=9)
    assert "This page cannot be shown" in html and "has no page 9" in html


def test_odd_viewer_parameters_fall_back_instead_of_failing(reader, knowledge_base) -> None:
    document = _indexed(knowledge_base, "two.pdf", pdf_bytes(["One page here.", "Two."]))
    for params in (
        {"passage": "abc"},
        {"passage": "-4", "page": "0"},
        {"page": "9" * 40},
        {"view": "<script>"},
        {"passage": "999999999"},
    ):
        assert "Page 1 of 2" in _view(reader, document, **params)


def test_a_document_of_a_base_the_user_cannot_read_and_its_pages_are_404(
    client, bob, knowledge_base
) -> None:
    document = _indexed(knowledge_base, "two.pdf", pdf_bytes(["One page here.", "Two."]))
    client.force_login(bob)
    assert client.get(reverse("knowledge:document", args=[document.pk])).status_code == 404
    image = reverse("knowledge:document_page_image", args=[document.pk, 1])
    assert client.get(image).status_code == 404


def test_a_document_indexed_before_its_text_was_kept_lists_its_passages(
    reader, knowledge_base
) -> None:
    document = _indexed(knowledge_base, "notes.txt", b"Some notes about printers.")
    Document.objects.filter(pk=document.pk).update(content="", content_pages=[])
    html = _view(reader, document)
    assert "indexed before its full text was kept" in html and "about printers" in html
