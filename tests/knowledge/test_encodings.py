"""Text in any common encoding is read mojibake-free; binary content is still refused."""

from __future__ import annotations

import codecs

import pytest

from apps.knowledge.errors import ExtractionError
from apps.knowledge.extract import (
    MIME_CSV,
    MIME_HTML,
    MIME_JSON,
    MIME_JSONL,
    MIME_MARKDOWN,
    MIME_TEXT,
    detect_mime_type,
    extract,
)
from apps.knowledge.indexing import index_document
from apps.knowledge.textcodec import decode_text, detect_encoding
from apps.knowledge.uploads import add_upload

pytestmark = pytest.mark.django_db

GERMAN = (
    "Die Größe der Wohnung an der Hauptstraße beträgt 80 m². Die Miete kostet 950 € im "
    "Monat, zahlbar an Herrn Müller. Öffnungszeiten: täglich außer Sonntag."
)
MOJIBAKE = ("Ã", "Â", "â‚¬", "\ufffd")


def _clean(text: str) -> bool:
    return not any(mark in text for mark in MOJIBAKE)


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_german_text_saved_by_windows_reads_without_mojibake(encoding: str) -> None:
    text = GERMAN if encoding != "latin-1" else GERMAN.replace("€", "EUR")
    data = text.encode(encoding)
    assert detect_mime_type(data, "notiz.txt") == MIME_TEXT
    extracted = extract(data, MIME_TEXT)
    assert extracted.text == text
    assert "Größe" in extracted.text and "straße" in extracted.text and _clean(extracted.text)


def test_short_cp1252_words_and_the_euro_sign_read_right() -> None:
    for text in ("Größe", "Straße", "Größe der Straße: 5 € pro Tag.", "Ça coûte 10 € — très cher."):
        assert decode_text(text.encode("cp1252")) == text


def test_a_few_umlauts_in_a_long_english_file_are_not_drowned_out() -> None:
    text = "The quarterly report covers all regions.\n" * 2000 + "Contact: Jürgen Groß\n"
    assert decode_text(text.encode("cp1252")) == text


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Привет! Это тестовый текст на русском языке, сохранённый в Windows.", "cp1251"),
        ("Zażółć gęślą jaźń — polski tekst z ogonkami, zapisany w systemie Windows.", "cp1250"),
        ("日本語のテキストです。これはテストの文章で、シフトJISで保存されています。", "shift_jis"),
        ("Ελληνικά κείμενα για δοκιμή της ανίχνευσης κωδικοποίησης.", "cp1253"),
    ],
)
def test_other_scripts_in_their_legacy_encodings_read_right(text: str, encoding: str) -> None:
    assert decode_text(text.encode(encoding)) == text


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
    ],
)
def test_byte_order_marks_decide_the_encoding_and_are_dropped(bom: bytes, encoding: str) -> None:
    data = bom + GERMAN.encode(encoding)
    assert detect_encoding(data) == (encoding, len(bom))
    # UTF-16/32 text is full of NUL bytes: it is text all the same.
    assert detect_mime_type(data, "export.txt") == MIME_TEXT
    assert extract(data, MIME_TEXT).text == GERMAN


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_recognised(encoding: str) -> None:
    data = ("Name,Cost\nTräger,1200\n" * 20).encode(encoding)
    assert detect_mime_type(data, "export.txt") == MIME_TEXT
    assert extract(data, MIME_TEXT).text.startswith("Name,Cost\nTräger,1200")


def test_utf8_cut_inside_its_last_character_is_still_utf8() -> None:
    data = ("Größe " * 100).encode() + "€".encode()[:2]
    assert detect_encoding(data) == ("utf-8", 0)
    assert decode_text(data) == "Größe " * 100


@pytest.mark.parametrize(
    ("filename", "data", "mime_type", "expected"),
    [
        ("liste.md", "# Größen\n\nStraße 5 €".encode("cp1252"), MIME_MARKDOWN, "Straße 5 €"),
        (
            "seite.html",
            "<html><body><p>Preis: 5 € für die Straße</p></body></html>".encode("cp1252"),
            MIME_HTML,
            "Preis: 5 € für die Straße",
        ),
        (
            "kosten.csv",
            "Posten;Betrag\nMiete Büro;950 €\nGebühren;12 €\n".encode("cp1252"),
            MIME_CSV,
            "Posten: Miete Büro; Betrag: 950 €",
        ),
        (
            "daten.json",
            codecs.BOM_UTF16_LE + '{"Größe": "groß", "Preis": "5 €"}'.encode("utf-16-le"),
            MIME_JSON,
            "Größe: groß",
        ),
        (
            "zeilen.jsonl",
            '{"Straße": "Hauptstraße 1"}\n{"Straße": "Gartenweg 2"}\n'.encode("cp1252"),
            MIME_JSONL,
            "Straße: Hauptstraße 1",
        ),
    ],
)
def test_every_text_format_is_decoded_the_same_way(
    filename: str, data: bytes, mime_type: str, expected: str
) -> None:
    assert detect_mime_type(data, filename) == mime_type
    text = extract(data, mime_type).text
    assert expected in text and _clean(text)


@pytest.mark.parametrize(
    "data",
    [
        b"caf\xe9 \x00\x00\x01\x02 binary \xff\xfe\xfd",  # NULs in what is not UTF-16
        bytes(range(256)) * 8,
        b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)),
        b"MZ\x90\x00" + b"\x00" * 200,
        b"\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f" * 50,  # control characters, no NUL
    ],
)
def test_binary_content_is_still_refused_with_a_sentence(data: bytes) -> None:
    with pytest.raises(ExtractionError, match="Unsupported file type"):
        detect_mime_type(data, "notes.txt")


def test_a_cp1252_file_uploaded_and_indexed_is_searchable_as_written(knowledge_base) -> None:
    [outcome] = add_upload(
        knowledge_base=knowledge_base, filename="mietvertrag.txt", data=GERMAN.encode("cp1252")
    )
    assert outcome.document is not None, outcome.error
    assert index_document(document_id=outcome.document.pk).outcome == "indexed"
    text = " ".join(outcome.document.chunks.values_list("text", flat=True))
    assert "Größe" in text and "Hauptstraße" in text and "950 €" in text and _clean(text)


def test_a_utf16_export_uploaded_and_indexed_keeps_its_text(knowledge_base) -> None:
    data = codecs.BOM_UTF16_LE + "Größe: 80 m²\r\nStraße: Hauptstraße 1\r\n".encode("utf-16-le")
    [outcome] = add_upload(knowledge_base=knowledge_base, filename="export.txt", data=data)
    assert outcome.document is not None, outcome.error
    assert index_document(document_id=outcome.document.pk).outcome == "indexed"
    assert outcome.document.chunks.get().text == "Größe: 80 m²\nStraße: Hauptstraße 1"
