"""Every supported format becomes chunks on the real database via the local provider."""

from __future__ import annotations

import json

import pytest

from apps.knowledge.indexing import index_document
from apps.knowledge.models import Document
from apps.knowledge.uploads import add_upload
from tests.knowledge.files import docx_bytes, zip_bytes

pytestmark = pytest.mark.django_db


def _index(knowledge_base, name: str, data: bytes) -> list[Document]:
    outcomes = add_upload(knowledge_base=knowledge_base, filename=name, data=data)
    assert all(not o.error for o in outcomes), [o.error for o in outcomes]
    documents = [o.document for o in outcomes if o.document]
    for document in documents:
        assert index_document(document_id=document.pk).outcome == "indexed"
        document.refresh_from_db()
    return documents


def test_docx_keeps_headings_paragraphs_and_tables(knowledge_base) -> None:
    data = docx_bytes(
        ("Title", "Sync guide"), ("Heading 1", "Limits"), ("", "Files up to 4 GB sync.")
    )
    [document] = _index(knowledge_base, "guide.docx", data)
    assert document.mime_type.endswith("wordprocessingml.document")
    chunks = list(document.chunks.all())
    assert any(c.heading == "Limits" and "Files up to 4 GB sync." in c.text for c in chunks)
    assert any("Team | 4 GB" in c.text for c in chunks)


def test_csv_rows_become_records_with_their_header(knowledge_base) -> None:
    data = b"office,city,desks\nNorth,Lisbon,40\nSouth,Porto,12\n"
    [document] = _index(knowledge_base, "offices.csv", data)
    text = " ".join(c.text for c in document.chunks.all())
    assert "office: North; city: Lisbon; desks: 40" in text
    assert "office: South; city: Porto; desks: 12" in text


def test_json_and_jsonl_index_their_text_fields(knowledge_base) -> None:
    faq = json.dumps([{"q": "Guest Wi-Fi?", "a": "LumenGuest", "id": 7, "draft": False}]).encode()
    lines = b'{"title": "Runbook", "body": "Page the on-call engineer."}\n\n{"title": "Backup"}\n'
    [faq_doc] = _index(knowledge_base, "faq.json", faq)
    [log_doc] = _index(knowledge_base, "notes.jsonl", lines)
    assert "q: Guest Wi-Fi?; a: LumenGuest; id: 7" in faq_doc.chunks.get().text
    assert "title: Runbook; body: Page the on-call engineer." in log_doc.chunks.first().text


def test_zip_members_become_documents_titled_by_their_nested_path(knowledge_base) -> None:
    data = zip_bytes(
        {
            "policies/travel.md": b"# Travel\n\nThe hotel cap is 180 euros.",
            "policies/it/laptops.txt": b"Laptops are replaced every 36 months.",
            "__MACOSX/._travel.md": b"junk",
            "empty-dir/": b"",
        }
    )
    documents = _index(knowledge_base, "handbook.zip", data)
    assert sorted(d.title for d in documents) == [
        "handbook.zip/policies/it/laptops.txt",
        "handbook.zip/policies/travel.md",
    ]
    assert all(d.status == Document.Status.READY and d.chunk_count == 1 for d in documents)


def test_uploading_the_same_archive_twice_adds_nothing(knowledge_base) -> None:
    data = zip_bytes({"a.txt": b"Alpha document text here.", "b.txt": b"Beta document text here."})
    _index(knowledge_base, "set.zip", data)
    again = add_upload(knowledge_base=knowledge_base, filename="set.zip", data=data)
    assert all(o.duplicate for o in again)
    assert Document.objects.count() == 2
