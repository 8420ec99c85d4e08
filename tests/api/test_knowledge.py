"""Knowledge bases and documents over the API: the browser's rules, the uploads' checks."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.knowledge.models import Document, KnowledgeBase

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(alice) -> KnowledgeBase:
    return KnowledgeBase.objects.create(name="Shared", owner=alice, shared_with_all=True)


def _documents_url(base: KnowledgeBase) -> str:
    return f"/api/v1/knowledge-bases/{base.pk}/documents"


def test_the_list_holds_the_readable_bases_and_says_which_are_manageable(
    alice, bob, knowledge_base, shared, api_as
) -> None:
    KnowledgeBase.objects.create(name="Charlie's", owner=User.objects.create_user("carl"))
    mine = api_as(alice).get("/api/v1/knowledge-bases").json()
    assert {(kb["name"], kb["manageable"]) for kb in mine["items"]} == {
        ("Alice's base", True),
        ("Shared", True),
    }
    theirs = api_as(bob).get("/api/v1/knowledge-bases").json()
    assert [(kb["name"], kb["manageable"]) for kb in theirs["items"]] == [("Shared", False)]
    assert theirs["count"] == 1


def test_uploading_files_queues_documents_and_reports_each_file(
    alice, knowledge_base, api_as
) -> None:
    files = [
        SimpleUploadedFile("notes.txt", b"Laptops are replaced every 36 months."),
        SimpleUploadedFile("empty.txt", b""),
        SimpleUploadedFile("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00" * 10),
    ]
    response = api_as(alice).post(_documents_url(knowledge_base), {"files": files}, multipart=True)
    assert response.status_code == 200, response.content
    items = {item["name"]: item for item in response.json()["items"]}
    assert (
        items["notes.txt"]["error"] == "" and items["notes.txt"]["document"]["status"] == "queued"
    )
    assert (
        items["empty.txt"]["error"] == "empty.txt is empty."
        and items["empty.txt"]["document"] is None
    )
    assert "Unsupported file type" in items["tool.exe"]["error"]
    assert list(knowledge_base.documents.values_list("title", flat=True)) == ["notes.txt"]


def test_an_upload_over_the_size_limit_is_refused(alice, knowledge_base, api_as, settings) -> None:
    settings.MAX_UPLOAD_BYTES = 10
    upload = SimpleUploadedFile("big.txt", b"x" * 11)
    response = api_as(alice).post(
        _documents_url(knowledge_base), {"files": [upload]}, multipart=True
    )
    [item] = response.json()["items"]
    assert "the limit is 10" in item["error"] and not Document.objects.exists()


def test_an_upload_without_files_is_a_400(alice, knowledge_base, api_as) -> None:
    response = api_as(alice).post(_documents_url(knowledge_base), {}, multipart=True)
    assert response.status_code == 400 and "files" in response.json()["error"]["message"]


def test_adding_a_url_queues_it_and_refuses_private_addresses(
    alice, knowledge_base, api_as
) -> None:
    api = api_as(alice)
    url = f"/api/v1/knowledge-bases/{knowledge_base.pk}/urls"
    added = api.post(url, {"url": "https://example.invalid/handbook"})
    assert added.status_code == 200, added.content
    assert added.json()["document"]["source_kind"] == "url"
    for refused in ("http://127.0.0.1/admin", "http://localhost:8000/", "ftp://example.com/x"):
        response = api.post(url, {"url": refused})
        assert response.status_code == 400, refused
        assert response.json()["error"]["code"] == "url_refused"
    assert knowledge_base.documents.count() == 1


def test_documents_list_status_reindex_and_delete(alice, knowledge_base, api_as) -> None:
    document = Document.objects.create(
        knowledge_base=knowledge_base, title="a.txt", status=Document.Status.FAILED, error="Bad."
    )
    api = api_as(alice)
    listing = api.get(_documents_url(knowledge_base)).json()
    assert listing["count"] == 1 and listing["items"][0]["error"] == "Bad."
    status = api.get(f"/api/v1/documents/{document.pk}").json()
    assert status["status"] == "failed" and status["url"] == f"/documents/{document.pk}/"
    queued = api.post(f"/api/v1/documents/{document.pk}/reindex")
    assert queued.status_code == 200 and queued.json()["document"]["status"] == "queued"
    assert api.delete(f"/api/v1/documents/{document.pk}").status_code == 200
    assert not Document.objects.exists()


def test_a_reader_who_does_not_manage_the_base_gets_403(bob, shared, api_as) -> None:
    document = Document.objects.create(knowledge_base=shared, title="a.txt")
    api = api_as(bob)
    requests = [
        api.get(_documents_url(shared)),
        api.post(f"/api/v1/knowledge-bases/{shared.pk}/urls", {"url": "https://example.invalid/"}),
        api.get(f"/api/v1/documents/{document.pk}"),
        api.post(f"/api/v1/documents/{document.pk}/reindex"),
        api.delete(f"/api/v1/documents/{document.pk}"),
    ]
    for response in requests:
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "not_manager"
    assert Document.objects.get().title == "a.txt" and shared.documents.count() == 1


def test_a_base_the_user_may_not_read_is_not_found(bob, knowledge_base, api_as) -> None:
    document = Document.objects.create(knowledge_base=knowledge_base, title="a.txt")
    staff = User.objects.create_user("other-staff", is_staff=True)
    for user in (bob, staff):
        api = api_as(user)
        assert api.get(_documents_url(knowledge_base)).status_code == 404
        assert api.get(f"/api/v1/documents/{document.pk}").status_code == 404
        assert api.delete(f"/api/v1/documents/{document.pk}").status_code == 404
    assert Document.objects.exists()


def test_a_read_only_token_may_not_upload(alice, knowledge_base, api_as) -> None:
    upload = SimpleUploadedFile("notes.txt", b"Some text.")
    response = api_as(alice, read_only=True).post(
        _documents_url(knowledge_base), {"files": [upload]}, multipart=True
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "read_only_token"
    assert not Document.objects.exists()
