"""Hostile and broken input: each fails with a readable reason and harms nothing else."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from apps.knowledge.indexing import index_document
from apps.knowledge.models import Chunk, Document
from apps.knowledge.uploads import add_upload, add_url_document
from tests.knowledge.files import docx_bytes, pdf_bytes, zip_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def healthy(knowledge_base) -> Document:
    """A document already indexed, which no failure below may touch."""
    [outcome] = add_upload(
        knowledge_base=knowledge_base,
        filename="healthy.txt",
        data=b"Bike storage is in basement level -1.",
    )
    assert index_document(document_id=outcome.document.pk).outcome == "indexed"
    return outcome.document


def _unharmed(healthy: Document) -> None:
    healthy.refresh_from_db()
    assert healthy.status == Document.Status.READY
    assert list(Chunk.objects.values_list("document_id", flat=True).distinct()) == [healthy.pk]


def _fail_at_upload(knowledge_base, name: str, data: bytes) -> str:
    [outcome] = add_upload(knowledge_base=knowledge_base, filename=name, data=data)
    assert outcome.document is None and outcome.error
    return outcome.error


def _fail_at_indexing(knowledge_base, name: str, data: bytes) -> str:
    [outcome] = add_upload(knowledge_base=knowledge_base, filename=name, data=data)
    assert outcome.document is not None, outcome.error
    assert index_document(document_id=outcome.document.pk).outcome == "failed"
    outcome.document.refresh_from_db()
    assert outcome.document.status == Document.Status.FAILED
    assert not outcome.document.chunks.exists()
    return outcome.document.error


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        (
            "broken.pdf",
            b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ntruncated",
            "The PDF could not be read",
        ),
        ("scan.pdf", pdf_bytes([""]), "no extractable text"),
        ("secret.pdf", pdf_bytes(["Top secret"], encrypt_with="pw"), "encrypted"),
        ("whitespace.txt", b"   \n\n  ", "No extractable text"),
    ],
)
def test_broken_documents_fail_with_a_readable_reason(
    knowledge_base, healthy, name, data, reason
) -> None:
    assert reason in _fail_at_indexing(knowledge_base, name, data)
    _unharmed(healthy)


def test_scanned_pdf_failure_without_tesseract_says_how_to_enable_ocr(
    knowledge_base, healthy, settings
) -> None:
    settings.OCR_TESSERACT_CMD = "/nonexistent/tesseract"
    assert "OCR needs Tesseract" in _fail_at_indexing(knowledge_base, "scan.pdf", pdf_bytes([""]))


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "is empty"),
        ("bad.md", b"caf\xc3\xa9 ok then \x00\xff\xfe broken", "content is binary"),
        ("empty.zip", b"", "is empty"),
        ("nothing.zip", zip_bytes({}), "The archive is empty"),
        (
            "photo.pdf",
            b"GIF89a" + b"\x00" * 64,
            "Unsupported file type: the content is a GIF image",
        ),
        ("book.xlsb", zip_bytes({"xl/workbook.bin": b"\x00"}), "Excel binary workbooks"),
        ("inner.zip", zip_bytes({"nested.zip": zip_bytes({"a.txt": b"a"})}), "nested archives"),
    ],
)
def test_unusable_uploads_are_refused_with_a_reason(
    knowledge_base, healthy, name, data, reason
) -> None:
    assert reason in _fail_at_upload(knowledge_base, name, data)
    _unharmed(healthy)


def test_zip_bomb_is_refused_before_it_is_expanded(knowledge_base, healthy, settings) -> None:
    settings.ARCHIVE_MAX_EXPANDED_BYTES = 2 * 1024 * 1024
    bomb = zip_bytes({f"part{i}.txt": b"0" * (1024 * 1024) for i in range(5)})
    assert len(bomb) < 50_000
    reason = _fail_at_upload(knowledge_base, "bomb.zip", bomb)
    assert "expands past the limit" in reason or "compressed suspiciously well" in reason
    _unharmed(healthy)


def test_docx_that_inflates_past_the_limit_fails_without_being_parsed(
    knowledge_base, healthy, settings
) -> None:
    settings.ARCHIVE_MAX_EXPANDED_BYTES = 64 * 1024
    document = docx_bytes(("", "x" * 200_000))
    reason = _fail_at_indexing(knowledge_base, "huge.docx", document)
    assert "expands past the limit" in reason or "compressed suspiciously well" in reason
    _unharmed(healthy)


def test_path_traversal_names_stay_titles_and_nothing_is_written_outside_storage(
    knowledge_base, healthy, settings, tmp_path
) -> None:
    [outcome] = add_upload(
        knowledge_base=knowledge_base,
        filename="../../../etc/evil.md",
        data=b"# Evil\n\nHarmless text.",
    )
    document = outcome.document
    assert document.title == "../../../etc/evil.md"
    stored = Path(document.file.path).resolve()
    assert stored.is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert "evil" not in stored.name and ".." not in document.file.name
    assert not (tmp_path / "etc").exists()
    archive = zip_bytes({"../../escape.txt": b"Escaped text in an archive member."})
    [member] = add_upload(knowledge_base=knowledge_base, filename="a.zip", data=archive)
    assert (
        Path(member.document.file.path)
        .resolve()
        .is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    )


def test_html_scripts_are_never_indexed(knowledge_base, healthy) -> None:
    html = b"<html><body><script>fetch('//evil')</script><p onclick=\"steal()\">Visible policy text.</p></body></html>"
    [outcome] = add_upload(knowledge_base=knowledge_base, filename="page.html", data=html)
    assert index_document(document_id=outcome.document.pk).outcome == "indexed"
    text = outcome.document.chunks.get().text
    assert text == "Visible policy text." and "evil" not in text and "steal" not in text


def test_extraction_over_its_time_limit_is_stopped_and_the_worker_goes_on(
    knowledge_base, healthy, settings
) -> None:
    settings.EXTRACT_TIMEOUT_SECONDS = 0.001
    big = ("Some text that would be fine. " * 300_000).encode()
    reason = _fail_at_indexing(knowledge_base, "slow.txt", big)
    assert "took longer than" in reason
    settings.EXTRACT_TIMEOUT_SECONDS = 60
    [outcome] = add_upload(
        knowledge_base=knowledge_base, filename="next.txt", data=b"The next document indexes fine."
    )
    assert index_document(document_id=outcome.document.pk).outcome == "indexed"
    _unharmed_count = Chunk.objects.filter(document=healthy).count()
    assert _unharmed_count == 1


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict[str, str], bytes, float]] = {}

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        status, headers, body, drip = self.routes.get(self.path, (404, {}, b"missing", 0.0))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body) if not drip else len(body) * 100))
        self.end_headers()
        if not drip:
            self.wfile.write(body)
            return
        for _ in range(100):  # a page that never finishes: a byte now and then
            try:
                self.wfile.write(body[:1])
                self.wfile.flush()
            except OSError:
                return
            time.sleep(drip)


@pytest.fixture
def site(settings) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    settings.URL_FETCH_ALLOWED_PRIVATE_HOSTS = [f"127.0.0.1:{port}"]
    settings.URL_FETCH_TIMEOUT_SECONDS = 2
    _Handler.routes = {
        "/page": (
            200,
            {"Content-Type": "text/html"},
            b"<title>Sync FAQ</title><p>Files up to 4 GB sync.</p>",
            0.0,
        ),
        "/to-metadata": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"", 0.0),
        "/to-loopback": (301, {"Location": "http://127.0.0.2:80/admin"}, b"", 0.0),
        "/to-page": (302, {"Location": "/page"}, b"", 0.0),
        "/slow": (200, {"Content-Type": "text/html"}, b"<", 0.2),
    }
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


def _ingest_url(knowledge_base, url: str) -> Document:
    outcome = add_url_document(knowledge_base=knowledge_base, url=url)
    assert outcome.document is not None, outcome.error
    index_document(document_id=outcome.document.pk)
    outcome.document.refresh_from_db()
    return outcome.document


def test_a_web_page_is_fetched_titled_and_indexed(knowledge_base, site) -> None:
    document = _ingest_url(knowledge_base, f"{site}/to-page")
    assert document.status == Document.Status.READY, document.error
    assert document.title == "Sync FAQ" and document.source_url == f"{site}/to-page"
    assert document.chunks.get().text == "Files up to 4 GB sync."


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/to-metadata", "169.254.169.254"),
        ("/to-loopback", "127.0.0.2"),
        ("/slow", "too long"),
    ],
)
def test_redirects_to_private_addresses_and_endless_pages_fail(
    knowledge_base, healthy, site, path, reason
) -> None:
    document = _ingest_url(knowledge_base, f"{site}{path}")
    assert document.status == Document.Status.FAILED and reason in document.error
    _unharmed(healthy)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/admin/",
        "http://localhost/",
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://[::ffff:10.0.0.1]/",
        "http://[::1]/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_private_addresses_are_refused_before_connecting(knowledge_base, url) -> None:
    document = _ingest_url(knowledge_base, url)
    assert document.status == Document.Status.FAILED
    assert "private or reserved address" in document.error


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/file",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://user:pw@example.com/",
    ],
)
def test_other_schemes_and_credentials_are_refused_at_once(knowledge_base, url) -> None:
    outcome = add_url_document(knowledge_base=knowledge_base, url=url)
    assert outcome.document is None and outcome.error
