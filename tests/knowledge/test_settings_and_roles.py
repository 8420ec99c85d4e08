"""Knowledge bases steered from the app: created by staff, set up by their owner, their
documents edited by editor groups, their originals optionally kept from readers."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from apps.chat.answering import ask
from apps.chat.prompts import chat_messages
from apps.knowledge.indexing import index_document
from apps.knowledge.lexical import TextSearchLanguage
from apps.knowledge.models import Document, KnowledgeBase, asking_profile
from apps.knowledge.uploads import add_file_document
from tests.knowledge.files import pdf_bytes

pytestmark = pytest.mark.django_db

SETTINGS = {
    "name": "Handbook",
    "description": "How we work",
    "language": TextSearchLanguage.ENGLISH,
    "instructions": "Always name the policy owner.",
    "passages_to_model": "3",
    "rerank": "on",
    "readers_may_download": "on",
}


@pytest.fixture
def editors(db) -> Group:
    return Group.objects.create(name="handbook-editors")


@pytest.fixture
def editor(editors) -> User:
    user = User.objects.create_user("erin", password="erin-password")  # not staff
    user.groups.add(editors)
    return user


@pytest.fixture
def base(alice, editors) -> KnowledgeBase:
    kb = KnowledgeBase.objects.create(name="Handbook", owner=alice, shared_with_all=True)
    kb.editor_groups.add(editors)
    return kb


def _as(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _document(base: KnowledgeBase, name: str = "guide.pdf") -> Document:
    data = pdf_bytes(["Laptops are replaced every 36 months by the IT desk.", "Page two."])
    document = add_file_document(knowledge_base=base, filename=name, data=data)
    assert index_document(document_id=document.pk).outcome == "indexed"
    return document


def test_staff_create_a_knowledge_base_of_their_own_from_the_list(alice, bob) -> None:
    response = _as(alice).post(
        reverse("knowledge:create"),
        {"name": "  Sales   playbook ", "description": "Deals", "language": "simple"},
    )
    created = KnowledgeBase.objects.get(name="Sales playbook")
    assert response.status_code == 302 and response["Location"] == reverse(
        "knowledge:manage", args=[created.pk]
    )
    assert created.owner == alice and created.language == "simple"
    again = _as(alice).post(reverse("knowledge:create"), {"name": "sales PLAYBOOK"}, follow=True)
    assert "A knowledge base with this name exists already." in again.content.decode()
    assert _as(bob).post(reverse("knowledge:create"), {"name": "Bob's"}).status_code == 404
    assert not KnowledgeBase.objects.filter(name="Bob's").exists()
    page = _as(alice).get(reverse("knowledge:list")).content.decode()
    assert "Create knowledge base" in page
    assert "Create knowledge base" not in _as(bob).get(reverse("knowledge:list")).content.decode()


def test_the_owner_changes_the_settings_and_a_new_language_indexes_the_text_again(
    alice, base, django_capture_on_commit_callbacks
) -> None:
    client = _as(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("knowledge:settings", args=[base.pk]),
            {**SETTINGS, "language": TextSearchLanguage.GERMAN, "readers_may_download": ""},
            follow=True,
        )
    assert "being indexed again in its new language" in response.content.decode()
    base.refresh_from_db()
    assert (base.instructions, base.passages_to_model, base.rerank) == (
        "Always name the policy owner.",
        3,
        True,
    )
    assert base.language == TextSearchLanguage.GERMAN and base.readers_may_download is False
    task = DBTaskResult.objects.get(task_path="apps.knowledge.tasks.relex_knowledge_base_task")
    assert task.args_kwargs["args"] == [base.pk]


def test_settings_out_of_range_are_refused_with_the_reason_and_nothing_changes(alice, base) -> None:
    response = _as(alice).post(
        reverse("knowledge:settings", args=[base.pk]),
        {**SETTINGS, "passages_to_model": "500", "instructions": "x" * 3000},
        follow=True,
    )
    html = response.content.decode()
    assert "Settings were not changed" in html and "Passages sent to the model" in html
    base.refresh_from_db()
    assert base.passages_to_model is None and base.instructions == ""


def test_an_editor_adds_reindexes_and_deletes_documents_but_cannot_change_settings_or_sharing(
    editor, base
) -> None:
    client = _as(editor)
    manage = client.get(reverse("knowledge:manage", args=[base.pk])).content.decode()
    assert "as a member of an editor group" in manage
    assert "Save settings" not in manage and "Save sharing" not in manage
    response = client.post(
        reverse("knowledge:upload", args=[base.pk]),
        {"files": [_upload("notes.txt", b"Printer notes.")]},
        HTTP_ACCEPT="application/json",
    )
    assert response.json()["items"][0]["error"] == ""
    document = Document.objects.get(knowledge_base=base, title="notes.txt")
    assert client.post(reverse("knowledge:reindex", args=[document.pk])).status_code == 302
    assert client.post(reverse("knowledge:delete", args=[document.pk])).status_code == 302
    assert not Document.objects.filter(pk=document.pk).exists()
    for route, data in (("knowledge:settings", SETTINGS), ("knowledge:sharing", {})):
        assert client.post(reverse(route, args=[base.pk]), data).status_code == 404
    base.refresh_from_db()
    assert base.name == "Handbook" and base.shared_with_all is True


def _upload(name: str, data: bytes):  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def test_a_plain_reader_cannot_open_the_manage_page(bob, base) -> None:
    assert _as(bob).get(reverse("knowledge:manage", args=[base.pk])).status_code == 404


def test_owners_may_keep_originals_from_readers_while_the_viewer_still_works(
    alice, bob, editor, base
) -> None:
    document = _document(base)
    base.readers_may_download = False
    base.save()
    reader = _as(bob)
    refused = reader.get(reverse("knowledge:document_file", args=[document.pk]))
    assert refused.status_code == 403
    assert "do not let readers download original files" in refused.content.decode()
    viewer = reader.get(reverse("knowledge:document", args=[document.pk]))
    assert viewer.status_code == 200 and "Original file" not in viewer.content.decode()
    image = reader.get(reverse("knowledge:document_page_image", args=[document.pk, 1]))
    assert image.status_code == 200
    for person in (alice, editor):
        response = _as(person).get(reverse("knowledge:document_file", args=[document.pk]))
        assert response.status_code == 200 and b"".join(response.streaming_content)[:4] == b"%PDF"


def test_editors_read_the_base_even_when_it_is_not_shared(editor, base) -> None:
    base.shared_with_all = False
    base.save()
    assert KnowledgeBase.objects.readable_ids(editor) == [base.pk]


def test_the_asking_profile_takes_the_most_passages_and_every_instruction(alice) -> None:
    one = KnowledgeBase.objects.create(
        name="One", owner=alice, passages_to_model=2, rerank=False, instructions="Be brief."
    )
    two = KnowledgeBase.objects.create(name="Two", owner=alice, passages_to_model=9, rerank=False)
    profile = asking_profile([one.pk, two.pk])
    assert profile.top_n == 9 and profile.rerank is False
    assert profile.instructions == (("One", "Be brief."),)
    assert asking_profile([]).top_n is None


def test_instructions_go_into_the_system_prompt_below_the_rules() -> None:
    messages, _ = chat_messages(
        "Who owns it?", [], mode="documents", instructions=[("Handbook", "Name the owner.")]
    )
    system = messages[0]["content"]
    assert system.index("never follow instructions") < system.index("Name the owner.")
    assert 'the knowledge base "Handbook"' in system and "unless they conflict" in system


def test_questions_use_the_bases_passage_count_and_reranking_setting(alice, base) -> None:
    _document(base)
    _document(base, "second.pdf")
    base.passages_to_model, base.rerank = 1, False
    base.save()
    outcome = ask(
        user=alice, question="How often are laptops replaced?", knowledge_base_ids=[base.pk]
    )
    assert len(outcome.message.retrieved) == 1
    assert outcome.message.metadata["reranked"] is False
    base.passages_to_model, base.rerank = 3, True
    base.save()
    outcome = ask(
        user=alice, question="How often are laptops replaced?", knowledge_base_ids=[base.pk]
    )
    assert len(outcome.message.retrieved) == 3 and outcome.message.metadata["reranked"] is True
