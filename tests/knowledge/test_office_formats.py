"""Spreadsheets, presentations, ODT, RTF and EPUB become documents with their structure, and
slides are cited as "slide N" (files made in the tests with the libraries that write them)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from apps.chat.answering import ask
from apps.chat.models import Conversation, Message
from apps.knowledge.extract import detect_mime_type, extract
from apps.knowledge.indexing import index_document
from apps.knowledge.models import Document
from apps.knowledge.office_package import (
    MIME_EPUB,
    MIME_ODP,
    MIME_ODS,
    MIME_ODT,
    MIME_PPTX,
    MIME_RTF,
    MIME_XLSM,
    MIME_XLSX,
)
from apps.knowledge.uploads import add_upload
from tests.knowledge.office_files import (
    RTF_POLICY,
    SlideSpec,
    epub_bytes,
    odp_bytes,
    ods_bytes,
    odt_bytes,
    pptx_bytes,
    rewrite_zip,
    xlsx_bytes,
)

pytestmark = pytest.mark.django_db

BUDGET = {
    "Budget 2025": [
        ["Owner", "Cost", None, "Note"],
        [None, None, None, None],
        ["Finance", 1200, "extra", "Audit\nfees"],
        ["IT", 300.5, None, None],
    ],
    "Empty": [],
}
DECK = [
    SlideSpec("Roadmap", ["Ship the mobile app in March."], notes="Mention the hiring freeze."),
    SlideSpec("Quarterly goals", ["Targets per quarter."], table=[["Q", "Goal"], ["Q1", "Beta"]]),
    SlideSpec("", ["The office moves to Porto in September."]),
]


def _index(knowledge_base, name: str, data: bytes) -> Document:
    [outcome] = add_upload(knowledge_base=knowledge_base, filename=name, data=data)
    assert outcome.document is not None, outcome.error
    result = index_document(document_id=outcome.document.pk)
    outcome.document.refresh_from_db()
    assert result.outcome == "indexed", outcome.document.error
    return outcome.document


def test_xlsx_sheets_are_sections_and_rows_are_records_named_by_their_header(
    knowledge_base,
) -> None:
    document = _index(knowledge_base, "budget.xlsx", xlsx_bytes(BUDGET))
    assert document.mime_type == MIME_XLSX
    chunks = list(document.chunks.all())
    assert {c.heading for c in chunks} == {"Budget 2025"}
    text = "\n".join(c.text for c in chunks)
    assert "Row 3 — Owner: Finance; Cost: 1200; C: extra; Note: Audit fees" in text
    assert "Row 4 — Owner: IT; Cost: 300.5" in text
    assert "Row 2" not in text and "Empty" not in text


def test_xlsx_formulas_give_the_values_the_spreadsheet_program_cached() -> None:
    data = xlsx_bytes({"Costs": [["Item", "Cost"], ["Desk", 1200], ["Two desks", "=B2*2"]]})
    cached = xlsx_bytes(
        {"Costs": [["Item", "Cost"], ["Desk", 1200], ["Two desks", "=B2*2"]]},
        cached={"=B2*2": "2400"},
    )
    assert "Row 3 — Item: Two desks; Cost: 2400" in extract(cached, MIME_XLSX).text
    # Without a cached value (never opened in a spreadsheet program) the formula is left out.
    assert "Row 3 — Item: Two desks\n" in extract(data, MIME_XLSX).text + "\n"
    assert "B2*2" not in extract(data, MIME_XLSX).text


def test_a_sheet_with_only_a_header_row_is_kept_as_that_row() -> None:
    text = extract(xlsx_bytes({"Contacts": [["Name", "Phone"]]}), MIME_XLSX).text
    assert text == "# Contacts\n\nRow 1 — Name | Phone"


def test_ods_sheets_and_rows_read_like_xlsx(knowledge_base) -> None:
    data = ods_bytes(
        {"Offices": [["City", "Desks"], ["Lisbon", 40], [None, None], ["Porto", 12.5]]}
    )
    document = _index(knowledge_base, "offices.ods", data)
    assert document.mime_type == MIME_ODS
    [chunk] = document.chunks.all()
    assert chunk.heading == "Offices"
    assert "Row 2 — City: Lisbon; Desks: 40\n\nRow 4 — City: Porto; Desks: 12.5" in chunk.text


def test_each_pptx_slide_is_a_page_with_title_body_table_and_notes(knowledge_base) -> None:
    extracted = extract(pptx_bytes(DECK), MIME_PPTX)
    assert extracted.page_kind == "slide"
    assert [p.page for p in extracted.pages] == [1, 2, 3]
    slides = [extracted.text[p.start : p.end] for p in extracted.pages]
    assert slides[0] == (
        "# Roadmap\n\nShip the mobile app in March.\n\nNotes: Mention the hiring freeze."
    )
    assert slides[1] == "# Quarterly goals\n\nTargets per quarter.\n\nQ | Goal\nQ1 | Beta"
    assert slides[2] == "# Slide 3\n\nThe office moves to Porto in September."
    document = _index(knowledge_base, "deck.pptx", pptx_bytes(DECK))
    assert document.page_kind == "slide"
    pages = {(c.page, c.heading) for c in document.chunks.all()}
    assert pages == {(1, "Roadmap"), (2, "Quarterly goals"), (3, "Slide 3")}


def test_each_odp_slide_is_a_page_with_title_body_and_notes() -> None:
    extracted = extract(odp_bytes(DECK), MIME_ODP)
    assert extracted.page_kind == "slide" and [p.page for p in extracted.pages] == [1, 2, 3]
    first = extracted.text[extracted.pages[0].start : extracted.pages[0].end]
    assert first == (
        "# Roadmap\n\nShip the mobile app in March.\n\nNotes: Mention the hiring freeze."
    )
    assert extracted.text.endswith("# Slide 3\n\nThe office moves to Porto in September.")


def test_odt_is_one_document_with_headings_lists_and_tables(knowledge_base) -> None:
    data = odt_bytes(
        [
            ("h1", "Travel policy"),
            ("p", "Book trains for trips under four hours."),
            ("h2", "Hotels"),
            ("list", ["Europe: 180 euros a night", "Elsewhere: 220 euros a night"]),
            ("table", [["Class", "Allowed"], ["First", "No"]]),
        ]
    )
    outcomes = add_upload(knowledge_base=knowledge_base, filename="travel.odt", data=data)
    assert len(outcomes) == 1  # not expanded as a ZIP archive of XML parts
    document = _index(knowledge_base, "travel-again.odt", data)
    assert document.mime_type == MIME_ODT
    chunks = list(document.chunks.all())
    assert [c.heading for c in chunks] == ["Travel policy", "Hotels"]
    assert chunks[1].text == (
        "## Hotels\n\n- Europe: 180 euros a night\n- Elsewhere: 220 euros a night\n\n"
        "Class | Allowed\nFirst | No"
    )


def test_rtf_is_told_by_its_magic_and_indexed_without_control_words(knowledge_base) -> None:
    document = _index(knowledge_base, "policy.txt", RTF_POLICY)
    assert document.mime_type == MIME_RTF
    text = document.chunks.get().text
    assert text == (
        "Remote work policy\n\nStaff may work from home two days a week.\n\n"
        "Café receipts are not reimbursed."
    )


def test_epub_chapters_are_sections_in_spine_order_titled_by_heading_or_toc() -> None:
    data = epub_bytes(
        "The Team Handbook",
        [
            ("Welcome", "<h1>Welcome aboard</h1><p>Your first week starts here.</p>"),
            ("Leave", "<p>Holidays are 25 days a year.</p>"),
        ],
    )
    extracted = extract(data, MIME_EPUB)
    assert extracted.title == "The Team Handbook"
    assert extracted.text == (
        "# Welcome aboard\n\nYour first week starts here.\n\n# Leave\n\nHolidays are 25 days a year."
    )


def _xlsm(data: bytes) -> bytes:
    sheet_type = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    macro_type = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"
    return rewrite_zip(data, lambda name, xml: xml.replace(sheet_type, macro_type))


@pytest.mark.parametrize(
    ("name", "make", "mime_type"),
    [
        ("export.bin", lambda: xlsx_bytes(BUDGET), MIME_XLSX),
        ("macros.zip", lambda: _xlsm(xlsx_bytes(BUDGET)), MIME_XLSM),
        ("sheet.dat", lambda: ods_bytes({"A": [["x"]]}), MIME_ODS),
        ("deck.zip", lambda: pptx_bytes(DECK), MIME_PPTX),
        ("slides", lambda: odp_bytes(DECK), MIME_ODP),
        ("letter.zip", lambda: odt_bytes([("p", "Hello")]), MIME_ODT),
        ("book.zip", lambda: epub_bytes("B", [("c", "<p>x</p>")]), MIME_EPUB),
        ("policy.doc", lambda: RTF_POLICY, MIME_RTF),
    ],
)
def test_office_types_are_decided_by_the_content_not_the_name(name, make, mime_type) -> None:
    assert detect_mime_type(make(), name) == mime_type


def test_a_macro_enabled_workbook_is_read_like_any_workbook() -> None:
    text = extract(_xlsm(xlsx_bytes(BUDGET)), MIME_XLSM).text
    assert "Row 4 — Owner: IT; Cost: 300.5" in text


# --- "slide 3" citations ---


def test_a_slide_is_cited_as_slide_n_in_answers_search_results_and_the_document(
    knowledge_base, alice, client: Client
) -> None:
    document = _index(knowledge_base, "all-hands.pptx", pptx_bytes(DECK))
    outcome = ask(
        user=alice,
        question="When does the office move to Porto?",
        knowledge_base_ids=[knowledge_base.pk],
    )
    cited = [c for c in outcome.message.citations if c["document_id"] == document.pk]
    assert cited and {(c["page"], c["page_kind"]) for c in cited} == {(3, "slide")}
    client.force_login(alice)
    page = client.get(reverse("chat:conversation", args=[outcome.conversation.pk])).content
    assert re.search(rb'all-hands\.pptx</a> <span class="source-where">[^<]*slide 3</span>', page)
    assert b"Original file, page" not in page
    results = client.get(reverse("search:search"), {"q": "office moves to Porto"}).content
    assert re.search(rb"\xc2\xb7 [^<]* \xc2\xb7 slide 3</p>", results)
    detail = client.get(reverse("knowledge:document", args=[document.pk])).content
    assert b'<p class="page-label">Slide 3</p>' in detail and b"page image" not in detail


def test_stored_citations_without_a_page_kind_still_say_page(
    knowledge_base, alice, client: Client
) -> None:
    document = Document.objects.create(knowledge_base=knowledge_base, title="old.pdf")
    conversation = Conversation.objects.create(user=alice, title="Earlier")
    conversation.knowledge_bases.set([knowledge_base])
    citation = {"number": 1, "start": 0, "end": 5, "chunk_id": 1, "document_id": document.pk}
    citation |= {"title": "old.pdf", "page": 4, "url": "", "text": "Hello there."}
    Message.objects.create(
        conversation=conversation, role="assistant", content="Hello.", citations=[citation]
    )
    client.force_login(alice)
    page = client.get(reverse("chat:conversation", args=[conversation.pk])).content
    assert b'old.pdf</a> <span class="source-where">page 4</span>' in page
    assert b"Original file, page 4" in page
