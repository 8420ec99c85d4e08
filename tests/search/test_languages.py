"""Text search in the language of each knowledge base: German inflections, French accents
(the accent-blind mixed setting), Japanese without spaces; a language change re-indexes."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from apps.knowledge.lexical import TextSearchLanguage, lexical_text
from apps.knowledge.models import Chunk, ChunkLexemes, Document, KnowledgeBase
from apps.knowledge.relexing import relex_knowledge_base
from tests.search.test_bm25 import _document, _text_ranking

pytestmark = pytest.mark.django_db


def _base(alice, name: str, language: str) -> KnowledgeBase:
    return KnowledgeBase.objects.create(name=name, owner=alice, language=language)


def _stored(base: KnowledgeBase, text: str, title: str = "") -> int:
    document = _document(base, text, title=title)
    chunk = document.chunks.get()
    # _document writes English lexemes; write them as indexing does, in the base's language.
    ChunkLexemes.objects.filter(chunk=chunk).delete()
    chunk.lexemes(title=title, language=base.language).save()
    return chunk.pk


def test_a_german_base_finds_inflected_forms(alice) -> None:
    german = _base(alice, "Handbuch", TextSearchLanguage.GERMAN)
    chunk = _stored(german, "Die Häuser der Firma wurden im Sommer renoviert.")
    _stored(german, "Die Kantine öffnet um acht Uhr.")
    assert _text_ranking("Haus renovieren", german) == [chunk]
    english = _base(alice, "Handbook", TextSearchLanguage.ENGLISH)
    _stored(english, "Die Häuser der Firma wurden im Sommer renoviert.")
    assert _text_ranking("Haus renovieren", english) == []


def test_the_accent_blind_setting_matches_french_words_typed_without_accents(alice) -> None:
    mixed = _base(alice, "Guide", TextSearchLanguage.SIMPLE_UNACCENT)
    chunk = _stored(mixed, "Le café à côté de l'entrée ouvre à sept heures.")
    _stored(mixed, "La réunion a lieu le lundi.")
    assert _text_ranking("cafe a cote", mixed)[0] == chunk
    assert _text_ranking("Café", mixed) == [chunk]


def test_japanese_text_is_found_by_any_pair_of_characters(alice) -> None:
    base = _base(alice, "社内規定", TextSearchLanguage.SIMPLE)
    hours = _stored(base, "東京都庁の開庁時間は午前8時30分です。")
    _stored(base, "経費精算は月末までに提出してください。")
    assert _text_ranking("開庁時間", base) == [hours]
    assert _text_ranking("経費", base) != [hours]
    assert lexical_text("都庁") == " 都庁 "
    assert lexical_text("plain words") == "plain words"


def test_changing_a_base_language_in_the_admin_indexes_its_text_again(
    client, alice, django_capture_on_commit_callbacks
) -> None:
    alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    base = _base(alice, "Handbuch", TextSearchLanguage.ENGLISH)
    chunk = _stored(base, "Die Häuser der Firma wurden im Sommer renoviert.")
    assert _text_ranking("Haus", base) == []
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:knowledge_knowledgebase_change", args=[base.pk]),
            {
                "name": base.name,
                "description": "",
                "owner": alice.pk,
                "language": TextSearchLanguage.GERMAN,
            },
        )
    assert response.status_code == 302
    task = DBTaskResult.objects.get(task_path="apps.knowledge.tasks.relex_knowledge_base_task")
    assert task.args_kwargs["args"] == [base.pk]
    assert relex_knowledge_base(knowledge_base_id=base.pk) == 1
    assert _text_ranking("Haus", base) == [chunk]
    assert Chunk.objects.filter(knowledge_base=base).count() == 1
    assert Document.objects.filter(knowledge_base=base).count() == 1


def test_a_dotted_name_is_found_by_the_whole_name_and_by_its_parts(alice) -> None:
    base = _base(alice, "Python docs", TextSearchLanguage.ENGLISH)
    copytree = _stored(base, "Recursively copy a directory tree.", title="shutil.copytree")
    _stored(base, "Copy data and metadata of one file.", title="shutil.copy2")
    assert _text_ranking("copytree", base) == [copytree]
    assert _text_ranking("shutil.copytree", base)[0] == copytree
    assert lexical_text("os.path.join") == "os.path.join os path join"
    assert lexical_text("version 3.14") == "version 3.14"
