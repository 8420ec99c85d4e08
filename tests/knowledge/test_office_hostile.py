"""Hostile and broken office and book files: each fails that document with a sentence (or is
cut at its limits with a note), and harms nothing else."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from apps.knowledge.extract import ExtractOptions, extract
from apps.knowledge.indexing import index_document
from apps.knowledge.models import Chunk, Document
from apps.knowledge.office_package import MIME_ODS, MIME_ODT, MIME_PPTX, MIME_XLSX
from apps.knowledge.uploads import add_upload
from tests.knowledge.files import zip_bytes
from tests.knowledge.office_files import (
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

# (file name, a small valid file, its main XML part, a word in that part)
PACKAGES: list[tuple[str, Callable[[], bytes], str, bytes]] = [
    ("budget.xlsx", lambda: xlsx_bytes({"B": [["Owner"], ["Finance"]]}), "xl/worksheets/", b"B"),
    ("deck.pptx", lambda: pptx_bytes([SlideSpec("Roadmap", ["a"])]), "ppt/slides/", b"Roadmap"),
    ("sheet.ods", lambda: ods_bytes({"B": [["Owner"], ["Finance"]]}), "content.xml", b"Finance"),
    ("deck.odp", lambda: odp_bytes([SlideSpec("Roadmap", ["a"])]), "content.xml", b"Roadmap"),
    ("memo.odt", lambda: odt_bytes([("p", "Welcome")]), "content.xml", b"Welcome"),
    ("book.epub", lambda: epub_bytes("T", [("c", "<p>Welcome</p>")]), "chap_1", b"Welcome"),
]
IDS = [p[0] for p in PACKAGES]
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>"
)


@pytest.fixture
def healthy(knowledge_base) -> Document:
    [outcome] = add_upload(
        knowledge_base=knowledge_base, filename="healthy.txt", data=b"Bikes go in level -1."
    )
    assert index_document(document_id=outcome.document.pk).outcome == "indexed"
    return outcome.document


def _unharmed(healthy: Document) -> None:
    healthy.refresh_from_db()
    assert healthy.status == Document.Status.READY
    assert list(Chunk.objects.values_list("document_id", flat=True).distinct()) == [healthy.pk]


def _fail_at_indexing(knowledge_base, name: str, data: bytes) -> str:
    [outcome] = add_upload(knowledge_base=knowledge_base, filename=name, data=data)
    assert outcome.document is not None, outcome.error
    assert index_document(document_id=outcome.document.pk).outcome == "failed"
    outcome.document.refresh_from_db()
    assert not outcome.document.chunks.exists()
    return outcome.document.error


def _in_part(part: str, change: Callable[[bytes], bytes]) -> Callable[[str, bytes], bytes]:
    return lambda name, xml: change(xml) if part in name else xml


@pytest.mark.parametrize(("name", "make", "part", "word"), PACKAGES, ids=IDS)
def test_a_package_that_inflates_past_the_limit_fails_before_it_is_parsed(
    knowledge_base, healthy, settings, name, make, part, word
) -> None:
    settings.ARCHIVE_MAX_EXPANDED_BYTES = 1024 * 1024
    padding = {"pad/filler.xml": b"<a>" + b"0" * (3 * 1024 * 1024) + b"</a>"}
    bomb = rewrite_zip(make(), lambda n, xml: xml, extra=padding)
    assert len(bomb) < 100_000
    reason = _fail_at_indexing(knowledge_base, name, bomb)
    assert "expands past the limit" in reason or "compressed suspiciously well" in reason
    _unharmed(healthy)


@pytest.mark.parametrize(("name", "make", "part", "word"), PACKAGES, ids=IDS)
def test_a_truncated_package_is_refused_with_a_reason(
    knowledge_base, healthy, name, make, part, word
) -> None:
    data = make()
    [outcome] = add_upload(knowledge_base=knowledge_base, filename=name, data=data[:-200])
    assert outcome.document is None and "could not be read" in outcome.error
    _unharmed(healthy)


@pytest.mark.parametrize(("name", "make", "part", "word"), PACKAGES, ids=IDS)
def test_an_entity_expansion_in_a_part_is_refused(
    knowledge_base, healthy, name, make, part, word
) -> None:
    def laughs(xml: bytes) -> bytes:
        body = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
        return LAUGHS + body.replace(word, b"&lol9;", 1)

    data = rewrite_zip(make(), _in_part(part, laughs))
    reason = _fail_at_indexing(knowledge_base, name, data)
    assert "declares XML entities" in reason
    _unharmed(healthy)


@pytest.mark.parametrize(("name", "make", "part", "word"), PACKAGES, ids=IDS)
def test_a_corrupt_part_fails_that_document_with_a_reason(
    knowledge_base, healthy, name, make, part, word
) -> None:
    part = "content.opf" if name.endswith(".epub") else part  # chapters are parsed leniently
    data = rewrite_zip(make(), _in_part(part, lambda xml: xml[: len(xml) // 2]))
    reason = _fail_at_indexing(knowledge_base, name, data)
    assert reason.startswith("The ") and "could not be read" in reason, reason
    _unharmed(healthy)


def test_a_broken_opendocument_part_is_not_printed_to_the_log(capsys) -> None:
    data = rewrite_zip(
        odt_bytes([("p", "Confidential salary list")]),
        _in_part("content.xml", lambda xml: xml[: len(xml) - 40]),
    )
    with pytest.raises(Exception, match="not valid XML"):
        extract(data, MIME_ODT)
    assert "Confidential" not in capsys.readouterr().out


def test_a_password_protected_opendocument_file_fails_with_a_reason(knowledge_base) -> None:
    def encrypted(xml: bytes) -> bytes:
        entry = b'manifest:full-path="content.xml" manifest:media-type="text/xml"'
        sealed = entry + b"><manifest:encryption-data/></manifest:file-entry>"
        return xml.replace(entry + b"/>", sealed)

    data = rewrite_zip(odt_bytes([("p", "Secret")]), _in_part("manifest.xml", encrypted))
    assert "password-protected" in _fail_at_indexing(knowledge_base, "secret.odt", data)


def test_other_opendocument_types_are_refused_at_upload(knowledge_base) -> None:
    drawing = zip_bytes({"mimetype": b"application/vnd.oasis.opendocument.graphics"})
    [outcome] = add_upload(knowledge_base=knowledge_base, filename="d.odg", data=drawing)
    assert outcome.document is None and "OpenDocument type" in outcome.error


# --- Huge counts: cut at the settings' limits, with a note, quickly ---


def test_rows_past_the_limit_are_cut_with_a_note(knowledge_base, settings) -> None:
    settings.SPREADSHEET_MAX_ROWS = 3
    rows = [["Owner", "Cost"], *[[f"Team {i}", i] for i in range(2, 10)]]
    [outcome] = add_upload(
        knowledge_base=knowledge_base, filename="big.xlsx", data=xlsx_bytes({"Big": rows})
    )
    assert index_document(document_id=outcome.document.pk).outcome == "indexed"
    text = "\n".join(outcome.document.chunks.values_list("text", flat=True))
    assert "Row 4 — Owner: Team 4; Cost: 4" in text and "Team 5" not in text
    assert "more than 3 rows; the rows after row 4 were not indexed (SPREADSHEET_MAX_ROWS)" in text


def test_a_sheet_claiming_every_row_and_column_costs_only_its_cells() -> None:
    def far(xml: bytes) -> bytes:
        xml = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', xml)
        rows = b"".join(
            b'<row r="%d"><c r="XFD%d" t="inlineStr"><is><t>far</t></is></c></row>' % (i, i)
            for i in range(3, 500)
        )
        last = b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>last</t></is></c></row>'
        return xml.replace(b"</sheetData>", rows + last + b"</sheetData>")

    data = rewrite_zip(xlsx_bytes({"B": [["Owner"], ["Finance"]]}), _in_part("sheet1", far))
    started = time.monotonic()
    text = extract(data, MIME_XLSX, options=ExtractOptions(spreadsheet_max_cells=100_000)).text
    assert time.monotonic() - started < 10
    assert "Row 2 — Owner: Finance" in text and "Row 3 — XFD: far" in text
    assert "more cells than the limit (SPREADSHEET_MAX_CELLS)" in text and "last" not in text


def test_ods_repetition_counts_are_not_expanded_past_the_limits() -> None:
    def repeated(xml: bytes) -> bytes:
        xml = xml.replace(
            b"<table:table-row>", b'<table:table-row table:number-rows-repeated="1000000000">'
        )
        return xml.replace(
            b'<table:table-cell office:value-type="string"',
            b'<table:table-cell table:number-columns-repeated="1000000000" office:value-type="string"',
        )

    data = rewrite_zip(
        ods_bytes({"B": [["Owner"], ["Finance"]]}), _in_part("content.xml", repeated)
    )
    started = time.monotonic()
    options = ExtractOptions(spreadsheet_max_rows=5, spreadsheet_max_cells=10_000_000)
    text = extract(data, MIME_ODS, options=options).text
    assert time.monotonic() - started < 10
    records = [block for block in text.split("\n\n") if block.startswith("Row ")]
    assert len(records) == 5 and len(records[0].split("; ")) == 16_384  # Excel's column bound
    assert "more than 5 rows" in text and "Finance" not in text


def test_slides_sheets_and_chapters_past_the_limit_are_cut_with_a_note() -> None:
    options = ExtractOptions(office_max_parts=2)
    deck = extract(
        pptx_bytes([SlideSpec(f"S{i}", ["x"]) for i in range(5)]), MIME_PPTX, options=options
    )
    assert [p.page for p in deck.pages] == [1, 2]
    assert deck.text.endswith("[Only the first 2 slides were indexed (OFFICE_MAX_PARTS).]")
    book = xlsx_bytes({f"S{i}": [["a"], ["b"]] for i in range(4)})
    assert "first 2 sheets" in extract(book, MIME_XLSX, options=options).text
    chapters = [(f"C{i}", f"<p>Chapter {i}</p>") for i in range(4)]
    text = extract(epub_bytes("T", chapters), "application/epub+zip", options=options).text
    assert "Chapter 1" in text and "Chapter 2" not in text and "first 2 chapters" in text
