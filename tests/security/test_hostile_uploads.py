"""Hostile uploads and URLs, beyond tests/knowledge/test_hostile_input.py: names shown only
as escaped titles, count limits, archives that lie about their size, and every form of a
private address or foreign scheme, refused before any connection, on every redirect."""

from __future__ import annotations

import io
import struct
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.templatetags.static import static
from django.test import Client
from django.urls import reverse

from apps.knowledge.indexing import index_document
from apps.knowledge.models import Document, KnowledgeBase
from apps.knowledge.uploads import add_upload, add_url_document
from tests.knowledge.files import zip_bytes
from tests.security.inert import elements, problems

pytestmark = pytest.mark.django_db

HOSTILE_NAME = '..\\..\\<img src=x onerror=alert(1)>"evil".md'


@pytest.fixture
def staff(client: Client, alice) -> Client:
    client.force_login(alice)
    return client


def _upload(client: Client, base: KnowledgeBase, **data: Any) -> list[dict[str, Any]]:
    response = client.post(
        reverse("knowledge:upload", args=[base.pk]), data, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200
    return list(response.json()["items"])


def test_hostile_file_names_are_only_escaped_titles_on_every_page(
    staff, knowledge_base, settings
) -> None:
    baseline = staff.get(reverse("knowledge:manage", args=[knowledge_base.pk])).content.decode()
    archive = zip_bytes({"../../<svg onload=alert(1)>.txt": b"Archived text member."})
    _upload(
        staff,
        knowledge_base,
        files=[
            SimpleUploadedFile(HOSTILE_NAME, b"# Evil\n\nHarmless text."),
            SimpleUploadedFile("a.zip", archive),
        ],
    )
    documents = list(Document.objects.order_by("pk"))
    assert len(documents) == 2
    media = Path(settings.MEDIA_ROOT).resolve()
    for document in documents:
        assert "<" in document.title  # the name is kept, as a title
        stored = Path(document.file.path).resolve()
        assert stored.is_relative_to(media) and "<" not in stored.name and "evil" not in stored.name
    pages = {
        "manage": staff.get(reverse("knowledge:manage", args=[knowledge_base.pk])),
        "document": staff.get(reverse("knowledge:document", args=[documents[0].pk])),
        "archive member": staff.get(reverse("knowledge:document", args=[documents[1].pk])),
    }
    # The viewer's own script tag is part of the document pages, as kb.js is of the manage page.
    own = elements(baseline) + elements(f'<script src="{static("js/viewer.js")}" defer></script>')
    for name, response in pages.items():
        html = response.content.decode()
        assert "&lt;" in html, name  # the title is on the page, escaped
        assert problems(html, page_elements=own) == [], name
    status = staff.get(reverse("knowledge:status", args=[knowledge_base.pk]))
    assert status["Content-Type"] == "application/json"
    download = staff.get(reverse("knowledge:document_file", args=[documents[0].pk]))
    assert download["Content-Disposition"].startswith("attachment")
    assert download["Content-Type"] == "application/octet-stream"


def test_too_many_urls_at_once_are_refused(staff, knowledge_base, settings) -> None:
    settings.MAX_URLS_PER_UPLOAD = 2
    urls = "\n".join(f"https://example.com/{i}" for i in range(3))
    [item] = _upload(staff, knowledge_base, urls=urls)
    assert "At most 2 URLs" in item["error"]
    assert not Document.objects.exists()


def test_a_file_over_the_size_limit_is_refused_through_the_page(
    staff, knowledge_base, settings
) -> None:
    settings.MAX_UPLOAD_BYTES = 100
    [item] = _upload(staff, knowledge_base, files=[SimpleUploadedFile("big.txt", b"x" * 101)])
    assert "the limit is 100" in item["error"]
    assert not Document.objects.exists()


def test_an_archive_with_too_many_members_is_refused(knowledge_base, settings) -> None:
    settings.ARCHIVE_MAX_MEMBERS = 3
    archive = zip_bytes({f"m{i}.txt": f"member {i}".encode() for i in range(4)})
    [outcome] = add_upload(knowledge_base=knowledge_base, filename="many.zip", data=archive)
    assert outcome.document is None and "the limit is 3" in outcome.error
    assert not Document.objects.exists()


def _understating(size: int) -> bytes:
    """A ZIP whose headers claim its one member is 10 bytes; it holds ``size`` bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("liar.txt", b"y" * size)
    data = bytearray(buffer.getvalue())
    struct.pack_into("<I", data, data.rfind(b"PK\x01\x02") + 24, 10)
    struct.pack_into("<I", data, data.find(b"PK\x03\x04") + 22, 10)
    return bytes(data)


def test_an_archive_that_understates_its_member_size_is_refused_with_a_reason(
    staff, knowledge_base
) -> None:
    [item] = _upload(
        staff, knowledge_base, files=[SimpleUploadedFile("liar.zip", _understating(200_000))]
    )
    assert "could not be read" in item["error"] and item["document"] is None
    assert not Document.objects.exists()


def test_an_expansion_bomb_is_refused_before_any_member_is_read(
    knowledge_base, settings, monkeypatch
) -> None:
    settings.ARCHIVE_MAX_EXPANDED_BYTES = 1024 * 1024
    bomb = zip_bytes({f"layer{i}.txt": b"\0" * (400 * 1024) for i in range(4)})
    opened: list[str] = []
    original = zipfile.ZipFile.open

    def recording_open(self: zipfile.ZipFile, name: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(name))
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", recording_open)
    [outcome] = add_upload(knowledge_base=knowledge_base, filename="bomb.zip", data=bomb)
    assert outcome.document is None and outcome.error
    assert opened == []


@pytest.fixture
def sends(monkeypatch) -> list[str]:
    """Every request the fetcher actually sends (its connections)."""
    sent: list[str] = []
    original = httpx.Client.send

    def recording_send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> Any:
        sent.append(str(request.url))
        return original(self, request, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", recording_send)
    return sent


def _ingest_url(knowledge_base: KnowledgeBase, url: str) -> Document:
    outcome = add_url_document(knowledge_base=knowledge_base, url=url)
    assert outcome.document is not None, outcome.error
    index_document(document_id=outcome.document.pk)
    outcome.document.refresh_from_db()
    return outcome.document


PRIVATE_FORMS = [
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://0x7f000001/",
    "http://0x7f.0.0.1/",
    "http://0x7f.1/",
    "http://127.1/",
    "http://0/",
    "http://0.0.0.0/",
    "http://017700000001/",
    "http://2852039166/",  # 169.254.169.254 as one decimal number
    "http://169.254.169.254/latest/meta-data/iam/",
    "http://[fe80::1]/",
    "http://[fd00::1]/",
    "http://[::]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[2002:7f00:1::]/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
]


@pytest.mark.parametrize("url", PRIVATE_FORMS)
def test_every_form_of_a_private_address_is_refused_without_connecting(
    knowledge_base, sends, url
) -> None:
    document = _ingest_url(knowledge_base, url)
    assert document.status == Document.Status.FAILED
    assert "private or reserved address" in document.error, document.error
    assert sends == []


@pytest.mark.parametrize(
    "url",
    [
        "gopher://example.com/_GET",
        "FILE:///etc/passwd",
        "file://localhost/etc/passwd",
        "dict://example.com:11211/stats",
        "ldap://example.com/",
        "ftp://example.com/",
        "//example.com/no-scheme",
        "data:text/html,<script>alert(1)</script>",
    ],
)
def test_other_schemes_are_refused_when_added(knowledge_base, url) -> None:
    outcome = add_url_document(knowledge_base=knowledge_base, url=url)
    assert outcome.document is None and outcome.error
    assert not Document.objects.exists()


class _Redirector(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", self.path[len("/to?") :])
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def redirector(settings) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    settings.URL_FETCH_ALLOWED_PRIVATE_HOSTS = [f"127.0.0.1:{port}"]
    settings.URL_FETCH_TIMEOUT_SECONDS = 3
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://[::ffff:127.0.0.1]:1/", "private or reserved"),
        ("http://2130706433/", "private or reserved"),
        # httpx itself rejects an octal host in a Location header before we see it.
        ("http://0177.0.0.1/", "Invalid IPv4 address"),
        ("http://0x7f000001/", "private or reserved"),
        ("http://[fd00:ec2::254]/", "private or reserved"),
        ("http://10.0.0.1/", "private or reserved"),
        ("file:///etc/passwd", "Only http and https"),
        ("gopher://example.com/", "Only http and https"),
        ("ftp://example.com/", "Only http and https"),
    ],
)
def test_a_redirect_to_a_private_address_or_another_scheme_is_refused_before_connecting(
    knowledge_base, redirector, sends, target, reason
) -> None:
    document = _ingest_url(knowledge_base, f"{redirector}/to?{target}")
    assert document.status == Document.Status.FAILED
    assert reason in document.error, document.error
    assert len(sends) == 1 and sends[0].startswith(redirector), "only the first hop connected"
