"""E-mail (.eml and Outlook .msg) and other OLE files: read, split into documents, refused or
degraded with a sentence; nothing else is lost.

The .eml files are made with the standard library's ``email`` package; the .msg files with
extract-msg's own OLE writer in the layout [MS-OXMSG] documents (``mailfiles.py``): no
package here writes Outlook messages, so they are minimal but real MSG files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.knowledge.errors import ExtractionError
from apps.knowledge.extract import detect_mime_type, extract
from apps.knowledge.indexing import index_document
from apps.knowledge.mailkind import MIME_EMAIL, MIME_OUTLOOK
from apps.knowledge.models import Chunk, Document
from apps.knowledge.uploads import add_upload, delete_document
from tests.knowledge.files import docx_bytes, zip_bytes
from tests.knowledge.mailfiles import eml_bytes, encrypted_docx, msg_bytes, ole_bytes

pytestmark = pytest.mark.django_db

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
BUDGET_DOCX = docx_bytes(("Heading 1", "Travel budget"), ("", "Travel costs rise by 4 percent."))
EXE = b"MZ\x90\x00" + b"\x00" * 200


def _budget_mail() -> bytes:
    return eml_bytes(
        attachments=[
            ("budget.docx", BUDGET_DOCX, DOCX),
            ("figures.csv", b"Item,Cost\nLaptops,1200\n", "text/csv"),
            ("tool.exe", EXE, "application/octet-stream"),
        ]
    )


def _index_all(outcomes) -> None:
    for outcome in outcomes:
        if outcome.document is not None:
            result = index_document(document_id=outcome.document.pk).outcome
            assert result in ("indexed", "unchanged"), outcome.document.error


def _text_of(document: Document) -> str:
    return "\n".join(document.chunks.order_by("ordinal").values_list("text", flat=True))


@pytest.fixture
def healthy(knowledge_base) -> Document:
    [outcome] = add_upload(
        knowledge_base=knowledge_base, filename="healthy.txt", data=b"Bike storage is in level -1."
    )
    assert index_document(document_id=outcome.document.pk).outcome == "indexed"
    return outcome.document


def _unharmed(healthy: Document) -> None:
    healthy.refresh_from_db()
    assert healthy.status == Document.Status.READY and healthy.chunks.count() == 1


def test_an_eml_becomes_a_document_with_its_headers_and_each_supported_attachment_another(
    knowledge_base,
) -> None:
    outcomes = add_upload(knowledge_base=knowledge_base, filename="budget.eml", data=_budget_mail())
    assert [o.name for o in outcomes if o.document] == [
        "budget.eml",
        "budget.eml/budget.docx",
        "budget.eml/figures.csv",
    ]
    _index_all(outcomes)
    email = Document.objects.get(pk=outcomes[0].document.pk)
    assert email.mime_type == MIME_EMAIL and email.title == "Budget 2025"  # the subject
    text = _text_of(email)
    assert text.startswith("Subject: Budget 2025\nFrom: Alice Example <alice@example.com>\n")
    assert "To: Bob Example <bob@example.com>" in text and "Date: Mon, 03 Mar 2025" in text
    assert "The budget for 2025 is attached." in text
    assert "Attachment: budget.docx" in text and "Attachment (not indexed): tool.exe" in text
    parts = {d.title: d for d in email.parts.all()}
    assert set(parts) == {"budget.eml/budget.docx", "budget.eml/figures.csv"}
    assert "Travel costs rise by 4 percent." in _text_of(parts["budget.eml/budget.docx"])
    assert "Item: Laptops; Cost: 1200" in _text_of(parts["budget.eml/figures.csv"])
    assert not Document.objects.filter(title__endswith="tool.exe").exists()


def test_uploading_the_same_email_again_adds_nothing(knowledge_base) -> None:
    data = _budget_mail()
    first = add_upload(knowledge_base=knowledge_base, filename="budget.eml", data=data)
    again = add_upload(knowledge_base=knowledge_base, filename="budget.eml", data=data)
    assert Document.objects.count() == 3
    assert [o.document.pk for o in again] == [o.document.pk for o in first]
    assert all(o.duplicate for o in again) and not any(o.duplicate for o in first)


def test_deleting_an_email_removes_its_attachments_and_their_files(knowledge_base) -> None:
    outcomes = add_upload(knowledge_base=knowledge_base, filename="budget.eml", data=_budget_mail())
    _index_all(outcomes)
    paths = [Path(o.document.file.path) for o in outcomes]
    assert all(path.exists() for path in paths)
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        delete_document(document=outcomes[0].document)
    assert not Document.objects.exists() and not Chunk.objects.exists()
    assert not any(path.exists() for path in paths)


def test_html_only_email_is_cleaned_like_a_web_page() -> None:
    html = (
        "<html><head><style>p{color:red}</style><script>steal()</script></head><body>"
        "<h2>Offsite</h2><p>The offsite is on <b>12 May</b>.</p></body></html>"
    )
    data = eml_bytes(subject="Offsite", body=None, html=html)
    extracted = extract(data, detect_mime_type(data, "offsite.eml"))
    assert "## Offsite\n\nThe offsite is on 12 May." in extracted.text
    assert "steal" not in extracted.text and "color" not in extracted.text
    assert "<p>" not in extracted.text and "<b>" not in extracted.text


def test_the_plain_part_wins_over_its_html_alternative() -> None:
    data = eml_bytes(body="Plain words.", html="<p>HTML words.</p>")
    text = extract(data, MIME_EMAIL).text
    assert "Plain words." in text and "HTML words." not in text


@pytest.mark.parametrize(
    ("charset", "cte"),
    [("iso-8859-1", "quoted-printable"), ("utf-8", "base64"), ("cp1252", "quoted-printable")],
)
def test_transfer_encodings_and_charsets_are_decoded(charset: str, cte: str) -> None:
    body = "Die Größe der Straße: 5 Zimmer, Miete pünktlich." + (
        " 950 €" if charset != "iso-8859-1" else ""
    )
    data = eml_bytes(subject="Größe", body=body, charset=charset, cte=cte)
    assert body.encode(charset) not in data  # really encoded on the wire
    extracted = extract(data, MIME_EMAIL)
    assert body in extracted.text and extracted.title == "Größe"


@pytest.mark.parametrize("name", ["mail.eml", "mail.txt", "forwarded"])
def test_an_email_is_recognised_by_its_headers_whatever_its_name(name: str) -> None:
    assert detect_mime_type(_budget_mail(), name) == MIME_EMAIL


def test_a_text_that_merely_starts_with_a_subject_line_is_not_an_email() -> None:
    assert detect_mime_type(b"Subject: meeting notes\n\nWe met.", "notes.txt") == "text/plain"
    assert detect_mime_type(b"Note: from Alice\nDate: today\n\nText.", "notes.txt") == "text/plain"


def test_a_forwarded_message_and_a_zip_attachment_become_documents_of_the_email(
    knowledge_base,
) -> None:
    inner = eml_bytes(subject="Original plan", body="The original plan is on page two.")
    archive = zip_bytes({"a.txt": b"First archived note.", "b.md": b"# B\n\nSecond note."})
    data = eml_bytes(
        subject="Fwd: plan",
        attachments=[
            ("original.eml", inner, "message/rfc822"),
            ("notes.zip", archive, "application/zip"),
        ],
    )
    outcomes = add_upload(knowledge_base=knowledge_base, filename="fwd.eml", data=data)
    names = sorted(o.name for o in outcomes if o.document)
    assert names == [
        "fwd.eml",
        "fwd.eml/notes.zip/a.txt",
        "fwd.eml/notes.zip/b.md",
        "fwd.eml/original.eml",
    ], [o.error for o in outcomes]
    email = outcomes[0].document
    assert {d.title for d in email.parts.all()} == set(names[1:])
    _index_all(outcomes)
    forwarded = Document.objects.get(title="Original plan")
    assert "The original plan is on page two." in _text_of(forwarded)


def test_a_forwarded_message_sent_in_base64_is_still_read_as_a_message() -> None:
    from email.message import EmailMessage

    from apps.knowledge.mail import MailLimits, parse_eml

    inner = eml_bytes(subject="Original plan", body="The original plan is on page two.")
    outer = EmailMessage()
    outer["From"], outer["Subject"] = "a@example.com", "Fwd"
    outer.set_content("See below.")
    outer.add_attachment(inner, maintype="message", subtype="rfc822", filename="orig.eml")
    assert b"base64" in outer.as_bytes()
    [attachment] = parse_eml(outer.as_bytes(), MailLimits()).attachments
    assert attachment.data == inner
    assert "The original plan is on page two." in extract(attachment.data, MIME_EMAIL).text


def test_two_attachments_of_one_name_stay_two_documents(knowledge_base) -> None:
    data = eml_bytes(
        attachments=[
            ("scan.txt", b"First scan text.", "text/plain"),
            ("scan.txt", b"Second scan text.", "text/plain"),
        ]
    )
    outcomes = add_upload(knowledge_base=knowledge_base, filename="scans.eml", data=data)
    assert sorted(o.name for o in outcomes[1:]) == ["scans.eml/scan (2).txt", "scans.eml/scan.txt"]


def test_an_outlook_msg_reads_like_an_email_and_splits_off_its_attachments(knowledge_base) -> None:
    data = msg_bytes(
        attachments=[("review.docx", BUDGET_DOCX), ("setup.exe", EXE)],
        to=[("Bob Example", "bob@example.com"), ("Carol Example", "carol@example.com")],
    )
    assert detect_mime_type(data, "review.msg") == MIME_OUTLOOK
    assert detect_mime_type(data, "review.bin") == MIME_OUTLOOK  # the content decides
    outcomes = add_upload(knowledge_base=knowledge_base, filename="review.msg", data=data)
    assert [o.name for o in outcomes if o.document] == ["review.msg", "review.msg/review.docx"]
    _index_all(outcomes)
    email = Document.objects.get(pk=outcomes[0].document.pk)
    assert email.title == "Quarterly review"
    text = _text_of(email)
    assert "From: Alice Example <alice@example.com>" in text
    assert "Bob Example <bob@example.com>" in text and "Carol Example" in text
    assert "Date: Mon, 03 Mar 2025 09:15:00" in text
    assert "Please read the review before Friday." in text
    assert "Attachment: review.docx" in text and "Attachment (not indexed): setup.exe" in text
    assert email.parts.get().parent_id == email.pk


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            ole_bytes({"WordDocument": b"\x00" * 600}),
            "legacy Word 97–2003 .doc files are not indexed; save as .docx",
        ),
        (ole_bytes({"Workbook": b"\x00" * 600}), "legacy Excel 97–2003 .xls files are not indexed"),
        (ole_bytes({"PowerPoint Document": b"\x00" * 600}), "legacy PowerPoint 97–2003 .ppt"),
        (
            encrypted_docx(BUDGET_DOCX),
            "The file is password-protected; upload an unprotected copy.",
        ),
        (
            ole_bytes({"Something": b"\x00" * 600}),
            "neither an Outlook message nor an Office document",
        ),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "could not be read"),
    ],
)
def test_other_ole_files_are_refused_with_a_sentence(knowledge_base, healthy, data, reason) -> None:
    [outcome] = add_upload(knowledge_base=knowledge_base, filename="old.doc", data=data)
    assert outcome.document is None and reason in outcome.error
    _unharmed(healthy)


def _fail_at_indexing(knowledge_base, name: str, data: bytes) -> str:
    outcomes = add_upload(knowledge_base=knowledge_base, filename=name, data=data)
    document = outcomes[0].document
    assert document is not None, outcomes[0].error
    assert index_document(document_id=document.pk).outcome == "failed"
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED and not document.chunks.exists()
    return document.error


def test_a_truncated_msg_fails_that_document_with_a_sentence(knowledge_base, healthy) -> None:
    data = msg_bytes(attachments=[("notes.txt", b"Some notes. " * 800)])
    reason = _fail_at_indexing(knowledge_base, "cut.msg", data[: len(data) // 2])
    assert "The Outlook message could not be read" in reason
    _unharmed(healthy)


def _nested(depth: int) -> bytes:
    body = b"Content-Type: text/plain\r\n\r\nInnermost text.\r\n"
    for level in range(depth):
        boundary = f"b{level}".encode()
        body = (
            b'Content-Type: multipart/mixed; boundary="'
            + boundary
            + b'"\r\n\r\n--'
            + boundary
            + b"\r\n"
            + body
            + b"\r\n--"
            + boundary
            + b"--\r\n"
        )
    return (
        b"From: a@example.com\r\nTo: b@example.com\r\nSubject: Deep\r\nMIME-Version: 1.0\r\n" + body
    )


def test_deeply_nested_multipart_is_read_to_a_bounded_depth(
    knowledge_base, healthy, settings
) -> None:
    settings.MAIL_MAX_DEPTH = 10
    outcomes = add_upload(knowledge_base=knowledge_base, filename="deep.eml", data=_nested(40))
    _index_all(outcomes)
    assert "Parts nested deeper than 10 levels are not read." in _text_of(outcomes[0].document)
    shallow = add_upload(knowledge_base=knowledge_base, filename="shallow.eml", data=_nested(5))
    _index_all(shallow)
    assert "Innermost text." in _text_of(shallow[0].document)
    reason = _fail_at_indexing(knowledge_base, "abyss.eml", _nested(5000))
    assert "nested too deeply" in reason
    _unharmed(healthy)


def test_an_attachment_bomb_is_cut_at_the_limit_with_a_sentence(
    knowledge_base, healthy, settings
) -> None:
    settings.MAIL_MAX_ATTACHMENTS = 5
    many = [(f"note{i}.txt", f"Note number {i}.".encode(), "text/plain") for i in range(200)]
    outcomes = add_upload(
        knowledge_base=knowledge_base, filename="bomb.eml", data=eml_bytes(attachments=many)
    )
    assert len([o for o in outcomes if o.document]) == 1 + 5
    assert any("Only the first 5 attachments are indexed." in o.error for o in outcomes)
    _index_all(outcomes)
    assert "Only the first 5 attachments are indexed." in _text_of(outcomes[0].document)
    _unharmed(healthy)


def test_attachments_past_the_decoded_size_limit_are_left_out_with_a_sentence(
    knowledge_base, settings
) -> None:
    settings.ARCHIVE_MAX_EXPANDED_BYTES = 100_000
    big = [(f"part{i}.txt", b"word " * 12_000, "text/plain") for i in range(4)]
    outcomes = add_upload(
        knowledge_base=knowledge_base, filename="big.eml", data=eml_bytes(attachments=big)
    )
    assert len([o for o in outcomes if o.document]) == 1 + 1
    assert any(
        "Attachments past 100,000 bytes in all are not indexed." in o.error for o in outcomes
    )


def test_a_broken_mime_boundary_keeps_the_body_as_sent_with_a_sentence(
    knowledge_base, healthy
) -> None:
    data = (
        b"From: a@example.com\r\nTo: b@example.com\r\nSubject: Broken\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n--ABC\r\n'
        b"Content-Type: text/plain\r\n\r\nThe body text survives.\r\n--ABC--\r\n"
    )
    outcomes = add_upload(knowledge_base=knowledge_base, filename="broken.eml", data=data)
    assert len(outcomes) == 1
    _index_all(outcomes)
    text = _text_of(outcomes[0].document)
    assert "The body text survives." in text and "MIME structure is broken" in text
    _unharmed(healthy)


def test_attachment_names_cannot_climb_out_or_carry_control_characters() -> None:
    data = eml_bytes(attachments=[("../../etc/pass\x07wd.txt", b"Harmless.", "text/plain")])
    from apps.knowledge.mail import MailLimits, parse_eml

    [attachment] = parse_eml(data, MailLimits()).attachments
    assert "/" not in attachment.name and "\x07" not in attachment.name and attachment.name


def test_an_email_that_cannot_be_parsed_at_all_raises_a_readable_error() -> None:
    with pytest.raises(ExtractionError, match="Outlook message could not be read"):
        extract(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 2000, MIME_OUTLOOK)


def test_an_email_page_and_its_attachment_pages_link_each_other(client, alice, knowledge_base):
    outcomes = add_upload(knowledge_base=knowledge_base, filename="budget.eml", data=_budget_mail())
    email, docx = outcomes[0].document, outcomes[1].document
    client.force_login(alice)
    email_page = client.get(f"/documents/{email.pk}/").content.decode()
    assert f'href="/documents/{docx.pk}/">budget.eml/budget.docx</a>' in email_page
    assert "Attached to" not in email_page
    part_page = client.get(f"/documents/{docx.pk}/").content.decode()
    assert f'Attached to <a href="/documents/{email.pk}/">budget.eml</a>' in part_page
