"""The staff page of a knowledge base: upload many files and URLs, live status, actions."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.knowledge import embedding
from apps.knowledge.indexing import index_document
from apps.knowledge.models import Chunk, Document
from apps.knowledge.queue import requeue_stale_documents
from apps.knowledge.uploads import add_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, alice):
    client.force_login(alice)
    return client


def test_the_page_shows_the_limits_and_the_documents(staff, knowledge_base, settings) -> None:
    settings.MAX_FILES_PER_UPLOAD = 7
    add_upload(knowledge_base=knowledge_base, filename="<b>note</b>.txt", data=b"Some note text.")
    html = staff.get(reverse("knowledge:manage", args=[knowledge_base.pk])).content.decode()
    assert "Up to 7 files of 25 MB each" in html and ".docx" in html
    assert "&lt;b&gt;note&lt;/b&gt;.txt" in html and "<b>note</b>" not in html


def test_many_files_and_urls_in_one_upload_each_get_an_outcome(staff, knowledge_base) -> None:
    response = staff.post(
        reverse("knowledge:upload", args=[knowledge_base.pk]),
        {
            "files": [
                SimpleUploadedFile("a.md", b"# A\n\nAlpha text."),
                SimpleUploadedFile("b.txt", b"Beta text."),
                SimpleUploadedFile("c.gif", b"GIF89a0000"),
            ],
            "urls": "https://example.com/page\nftp://example.com/x\n",
        },
        HTTP_ACCEPT="application/json",
    )
    items = {item["name"]: item for item in response.json()["items"]}
    assert items["a.md"]["document"]["status"] == "queued"
    assert items["b.txt"]["document"]["status"] == "queued"
    assert "GIF image" in items["c.gif"]["error"]
    assert items["https://example.com/page"]["document"]["status"] == "queued"
    assert "Only http and https" in items["ftp://example.com/x"]["error"]
    assert Document.objects.count() == 3


def test_too_many_files_at_once_are_refused(staff, knowledge_base, settings) -> None:
    settings.MAX_FILES_PER_UPLOAD = 1
    files = [SimpleUploadedFile(f"{i}.txt", b"text") for i in range(2)]
    response = staff.post(
        reverse("knowledge:upload", args=[knowledge_base.pk]),
        {"files": files},
        HTTP_ACCEPT="application/json",
    )
    assert "At most 1 files" in response.json()["items"][0]["error"]
    assert not Document.objects.exists()


def test_status_json_reports_stage_and_progress(staff, knowledge_base) -> None:
    [outcome] = add_upload(
        knowledge_base=knowledge_base, filename="a.txt", data=b"Alpha text here."
    )
    outcome.document.set_progress(Document.Stage.EMBEDDING, 3, 4)
    [status] = staff.get(reverse("knowledge:status", args=[knowledge_base.pk])).json()["documents"]
    assert (status["stage"], status["done"], status["total"], status["percent"]) == (
        "Embedding",
        3,
        4,
        75,
    )


def test_reindex_and_delete_act_on_the_document_and_its_chunks(
    staff, knowledge_base, django_capture_on_commit_callbacks
) -> None:
    [outcome] = add_upload(
        knowledge_base=knowledge_base, filename="a.txt", data=b"Alpha text here."
    )
    document = outcome.document
    index_document(document_id=document.pk)
    staff.post(reverse("knowledge:reindex", args=[document.pk]))
    document.refresh_from_db()
    assert document.status == Document.Status.QUEUED and document.indexed_sha256 == ""
    path = Path(document.file.path)
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(reverse("knowledge:delete", args=[document.pk]))
    assert not Document.objects.exists() and not Chunk.objects.exists()
    assert not path.exists()


def test_people_who_cannot_manage_a_base_get_404(client, bob, knowledge_base) -> None:
    [outcome] = add_upload(
        knowledge_base=knowledge_base, filename="a.txt", data=b"Alpha text here."
    )
    client.force_login(bob)
    for name, args in [
        ("knowledge:manage", [knowledge_base.pk]),
        ("knowledge:status", [knowledge_base.pk]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 404
    for name, args in [
        ("knowledge:upload", [knowledge_base.pk]),
        ("knowledge:reindex", [outcome.document.pk]),
        ("knowledge:delete", [outcome.document.pk]),
    ]:
        assert client.post(reverse(name, args=args)).status_code == 404
    assert Document.objects.filter(pk=outcome.document.pk, status=Document.Status.QUEUED).exists()


def test_a_document_whose_worker_died_is_queued_again_and_ends_like_a_clean_run(
    knowledge_base,
) -> None:
    """A worker killed mid-document leaves it "processing" with a stale heartbeat."""
    from datetime import timedelta

    from django.utils import timezone

    [outcome] = add_upload(
        knowledge_base=knowledge_base, filename="runbook.md", data=("Step one. " * 400).encode()
    )
    document = outcome.document
    assert index_document(document_id=document.pk).outcome == "indexed"
    clean = list(
        Chunk.objects.filter(document=document).values_list("ordinal", "text", "char_start")
    )

    Document.objects.filter(pk=document.pk).update(
        status=Document.Status.PROCESSING,
        stage=Document.Stage.EMBEDDING,
        indexed_sha256="",
        updated_at=timezone.now() - timedelta(minutes=10),
    )
    assert index_document(document_id=document.pk).outcome == "indexed"  # the lease has expired
    Document.objects.filter(pk=document.pk).update(
        status=Document.Status.PROCESSING,
        indexed_sha256="",
        updated_at=timezone.now() - timedelta(minutes=10),
    )
    assert requeue_stale_documents() == [document.pk]
    document.refresh_from_db()
    assert document.status == Document.Status.QUEUED
    assert index_document(document_id=document.pk).outcome == "indexed"
    again = list(
        Chunk.objects.filter(document=document).values_list("ordinal", "text", "char_start")
    )
    assert again == clean


def test_a_live_worker_keeps_its_document(knowledge_base) -> None:
    [outcome] = add_upload(
        knowledge_base=knowledge_base, filename="a.txt", data=b"Alpha text here."
    )
    Document.objects.filter(pk=outcome.document.pk).update(status=Document.Status.PROCESSING)
    assert requeue_stale_documents() == []
    assert index_document(document_id=outcome.document.pk).outcome == "not_claimed"


def test_a_changed_file_under_the_same_name_is_a_new_version_replacing_the_old_chunks(
    knowledge_base,
) -> None:
    [first] = add_upload(
        knowledge_base=knowledge_base,
        filename="policy.md",
        data=b"# Policy\n\nThe cap is 150 euros.",
    )
    index_document(document_id=first.document.pk)
    old_chunks = set(Chunk.objects.values_list("pk", flat=True))
    [second] = add_upload(
        knowledge_base=knowledge_base,
        filename="policy.md",
        data=b"# Policy\n\nThe cap is 180 euros.",
    )
    assert second.document.pk == first.document.pk and not second.duplicate
    # Until the new version is indexed, questions still see the old one, whole.
    assert set(Chunk.objects.values_list("pk", flat=True)) == old_chunks
    assert index_document(document_id=second.document.pk).outcome == "indexed"
    texts = list(Chunk.objects.values_list("text", flat=True))
    assert Document.objects.count() == 1 and any("180 euros" in t for t in texts)
    assert not any("150 euros" in t for t in texts)


def test_a_document_that_kills_its_worker_every_time_ends_failed(knowledge_base, settings) -> None:
    from datetime import timedelta

    from django.utils import timezone

    settings.INGEST_MAX_ATTEMPTS = 3
    [outcome] = add_upload(
        knowledge_base=knowledge_base, filename="a.txt", data=b"Alpha text here."
    )
    Document.objects.filter(pk=outcome.document.pk).update(
        status=Document.Status.PROCESSING,
        attempts=3,
        updated_at=timezone.now() - timedelta(hours=1),
    )
    requeue_stale_documents()
    outcome.document.refresh_from_db()
    assert outcome.document.status == Document.Status.FAILED
    assert "Gave up after 3 attempts" in outcome.document.error


@pytest.mark.django_db(transaction=True)
def test_a_queued_document_that_lost_its_task_is_enqueued_again(knowledge_base) -> None:
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from apps.knowledge.queue import requeue_orphaned_queued_documents

    [outcome] = add_upload(
        knowledge_base=knowledge_base, filename="a.txt", data=b"Alpha text here."
    )
    assert DBTaskResult.objects.count() == 1
    old = timezone.now() - timedelta(hours=1)
    Document.objects.filter(pk=outcome.document.pk).update(updated_at=old)
    assert requeue_orphaned_queued_documents() == []  # its task is still waiting
    DBTaskResult.objects.all().delete()
    assert requeue_orphaned_queued_documents() == [outcome.document.pk]
    assert DBTaskResult.objects.get().args_kwargs["args"] == [outcome.document.pk]


def test_an_older_version_finishing_late_does_not_overwrite_the_newer_one(
    knowledge_base, monkeypatch
) -> None:

    [first] = add_upload(
        knowledge_base=knowledge_base, filename="p.md", data=b"# P\n\nVersion one text."
    )
    real_embed = embedding.create_embeddings

    def embed_then_new_version_arrives(texts):
        add_upload(knowledge_base=knowledge_base, filename="p.md", data=b"# P\n\nVersion two text.")
        return real_embed(texts)

    monkeypatch.setattr(embedding, "create_embeddings", embed_then_new_version_arrives)
    assert index_document(document_id=first.document.pk).outcome == "superseded"
    monkeypatch.setattr(embedding, "create_embeddings", real_embed)
    assert not Chunk.objects.exists()
    assert index_document(document_id=first.document.pk).outcome == "indexed"
    assert "Version two" in Chunk.objects.get().text
