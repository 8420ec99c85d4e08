"""The original-file view answers HTTP Range (so a media player can seek): 206 with the exact
bytes, 416 outside the file, the whole file for headers it cannot read, never a 500, and
its access checks still come before any range is looked at."""

from __future__ import annotations

import io

import pytest
from django.test import RequestFactory
from django.urls import reverse

from apps.knowledge.models import Document, KnowledgeBase
from apps.knowledge.ranged import BLOCK_SIZE, ranged_file_response
from apps.knowledge.uploads import add_file_document
from tests.knowledge.files import pdf_bytes

pytestmark = pytest.mark.django_db

# Long enough for several 64 KiB blocks, and no two blocks alike (a wrong offset shows).
TEXT = b"".join(b"line %06d of the recording notes\n" % n for n in range(8000))
SIZE = len(TEXT)


@pytest.fixture
def reader(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def notes(knowledge_base) -> Document:
    return add_file_document(knowledge_base=knowledge_base, filename="notes.txt", data=TEXT)


def _file(client, document: Document, range_header: str | None = None, **headers: str):
    if range_header is not None:
        headers["range"] = range_header
    return client.get(reverse("knowledge:document_file", args=[document.pk]), headers=headers)


def _body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def test_without_a_range_the_whole_file_is_sent_and_ranges_are_advertised(reader, notes) -> None:
    response = _file(reader, notes)
    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(SIZE) and _body(response) == TEXT
    assert "Content-Range" not in response
    assert response["Content-Disposition"] == 'attachment; filename="notes.txt"'
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=10-19", 10, 19),
        (f"bytes={BLOCK_SIZE - 5}-{BLOCK_SIZE * 2 + 7}", BLOCK_SIZE - 5, BLOCK_SIZE * 2 + 7),
        (f"bytes={SIZE - 100}-{SIZE * 10}", SIZE - 100, SIZE - 1),  # end clipped to the file
        ("bytes=1000-", 1000, SIZE - 1),
        ("bytes=-500", SIZE - 500, SIZE - 1),
        (f"bytes=-{SIZE * 3}", 0, SIZE - 1),  # a suffix longer than the file: all of it
        ("BYTES = 5 - 9", 5, 9),
        ("bytes=" + "0" * 40 + "7-" + "0" * 40 + "9", 7, 9),  # leading zeros are fine
    ],
)
def test_one_byte_range_is_answered_206_with_exactly_those_bytes(
    reader, notes, header: str, start: int, end: int
) -> None:
    response = _file(reader, notes, header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/{SIZE}"
    assert response["Content-Length"] == str(end - start + 1)
    assert _body(response) == TEXT[start : end + 1]
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="notes.txt"'
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_pdf_range_stays_inline_like_the_whole_pdf(reader, knowledge_base) -> None:
    data = pdf_bytes(["Page one.", "Page two."])
    document = add_file_document(knowledge_base=knowledge_base, filename="guide.pdf", data=data)
    whole = _file(reader, document)
    part = _file(reader, document, "bytes=0-3")
    assert part.status_code == 206 and _body(part) == b"%PDF"
    assert part["Content-Type"] == whole["Content-Type"] == "application/pdf"
    assert part["Content-Disposition"] == whole["Content-Disposition"]
    assert "attachment" not in part["Content-Disposition"]
    assert part["Content-Security-Policy"] == whole["Content-Security-Policy"] != "sandbox"


@pytest.mark.parametrize(
    "header",
    [
        f"bytes={SIZE}-",
        f"bytes={SIZE}-{SIZE + 10}",
        "bytes=99999999999999999999-",
        "bytes=" + "7" * 5000 + "-",  # longer than int() converts by default
        "bytes=-0",
    ],
)
def test_a_range_outside_the_file_is_416_with_the_file_size(reader, notes, header: str) -> None:
    response = _file(reader, notes, header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{SIZE}"
    assert response["Accept-Ranges"] == "bytes"
    assert TEXT[:20] not in response.content


@pytest.mark.parametrize(
    "header",
    [
        "",
        "bytes=",
        "bytes=-",
        "bytes=abc",
        "bytes=1-abc",
        "bytes=0-1,5-6",  # several ranges: this server sends the whole file instead
        "bytes=0-1, 5-6",
        "items=0-1",
        "bytes 0-1",
        "bytes=+1-2",
        "bytes=-1-2",
        "bytes=1.5-2",
        "bytes=5-2",  # last before first: invalid, so ignored (RFC 9110 §14.1.1)
        "bytes=\u0661-\u0662",  # Arabic-Indic digits, which int() would read
        "bytes=\uff11-\uff12",  # full-width digits
        "bytes=0-1\x00",
        "bytes=\u00e9-",
        "0-1",
        "=" * 300,
    ],
)
def test_a_range_header_it_cannot_read_is_ignored_and_the_whole_file_sent(
    reader, notes, header: str
) -> None:
    response = _file(reader, notes, header)
    assert response.status_code == 200
    assert _body(response) == TEXT and "Content-Range" not in response


def test_a_range_with_if_range_gets_the_whole_file(reader, notes) -> None:
    response = _file(reader, notes, "bytes=0-9", if_range='"some-etag"')
    assert response.status_code == 200 and _body(response) == TEXT


def test_a_range_on_a_post_is_not_honoured(reader, notes) -> None:
    url = reverse("knowledge:document_file", args=[notes.pk])
    response = reader.post(url, headers={"range": "bytes=0-9"})
    assert response.status_code != 206 and "Content-Range" not in response


def test_a_user_who_cannot_read_the_base_gets_404_even_with_a_range(client, bob, notes) -> None:
    client.force_login(bob)
    for header in ("bytes=0-9", f"bytes={SIZE}-", "bytes=abc"):
        response = _file(client, notes, header)
        assert response.status_code == 404
        assert "Content-Range" not in response and "Accept-Ranges" not in response


def test_a_signed_out_visitor_with_a_range_is_sent_to_sign_in(client, notes) -> None:
    response = _file(client, notes, "bytes=0-9")
    assert response.status_code == 302 and "Content-Range" not in response


def test_a_refused_download_is_still_refused_with_a_range(client, bob, notes) -> None:
    KnowledgeBase.objects.filter(pk=notes.knowledge_base_id).update(
        shared_with_all=True, readers_may_download=False
    )
    client.force_login(bob)
    for header in ("bytes=0-9", f"bytes={SIZE}-", "bytes=-5"):
        response = _file(client, notes, header)
        assert response.status_code == 403
        assert "do not let readers download original files" in response.content.decode()
        assert "Content-Range" not in response and TEXT[:20] not in response.content


class _TrackedFile(io.BytesIO):
    """Counts the bytes asked of it in one read, to prove the body is read in blocks."""

    largest_read = 0

    def read(self, size: int | None = -1, /) -> bytes:
        self.largest_read = max(self.largest_read, -1 if size is None or size < 0 else size)
        return super().read(size)


def _served(header: str | None, handle: io.BytesIO):
    headers = {} if header is None else {"range": header}
    request = RequestFactory().get("/file", headers=headers)
    return ranged_file_response(
        request,
        handle,
        size=len(handle.getvalue()),
        content_type="audio/mpeg",
        filename="talk.mp3",
        as_attachment=False,
    )


def test_a_long_range_is_read_in_64_kib_blocks() -> None:
    handle = _TrackedFile(TEXT)
    response = _served("bytes=3-", handle)
    body = b"".join(response.streaming_content)
    assert body == TEXT[3:] and handle.largest_read == BLOCK_SIZE


@pytest.mark.parametrize("header", [None, "bytes=0-9", f"bytes={SIZE}-", "bytes=nonsense"])
def test_the_file_is_closed_when_the_response_is_closed_even_unread(header: str | None) -> None:
    handle = io.BytesIO(TEXT)
    response = _served(header, handle)
    response.close()
    assert handle.closed


def test_a_read_range_closes_the_file_once_the_response_is_done() -> None:
    handle = io.BytesIO(TEXT)
    response = _served("bytes=-5", handle)
    assert b"".join(response.streaming_content) == TEXT[-5:]
    response.close()
    assert handle.closed
