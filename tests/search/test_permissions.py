"""Retrieval is scoped, in SQL, to the knowledge bases the user may read."""

from __future__ import annotations

import pytest

from apps.knowledge.indexing import index_document
from apps.knowledge.models import KnowledgeBase
from apps.knowledge.uploads import add_file_document
from apps.search.retrieval import retrieve

pytestmark = pytest.mark.django_db

CANARY = "The vault code word is PELICAN-7731."


@pytest.fixture
def private_base(alice, team_b) -> KnowledgeBase:
    kb = KnowledgeBase.objects.create(name="Team B secrets", owner=alice)
    kb.groups.add(team_b)
    document = add_file_document(
        knowledge_base=kb, filename="vault.txt", data=f"Vault procedures.\n\n{CANARY}".encode()
    )
    assert index_document(document_id=document.pk).outcome == "indexed"
    return kb


def test_users_outside_the_group_retrieve_nothing_from_it(private_base, bob) -> None:
    result = retrieve(user=bob, question="What is the vault code word?")
    assert result.passages == []
    asked_directly = retrieve(
        user=bob, question="What is the vault code word?", knowledge_base_ids=[private_base.pk]
    )
    assert asked_directly.passages == []


def test_group_members_retrieve_it_until_they_leave_the_group(private_base, bob, team_b) -> None:
    bob.groups.add(team_b)
    result = retrieve(user=bob, question="What is the vault code word?")
    assert any(CANARY in p.text for p in result.passages)
    assert {p.knowledge_base_id for p in result.passages} <= set(
        KnowledgeBase.objects.readable_ids(bob)
    )

    bob.groups.remove(team_b)
    assert retrieve(user=bob, question="What is the vault code word?").passages == []


def test_inactive_users_read_nothing(private_base, alice) -> None:
    alice.is_active = False
    alice.save()
    assert KnowledgeBase.objects.readable_ids(alice) == []


def test_bases_shared_with_everyone_are_readable_by_any_signed_in_user(
    private_base, charlie
) -> None:
    assert KnowledgeBase.objects.readable_ids(charlie) == []
    private_base.shared_with_all = True
    private_base.save()
    assert KnowledgeBase.objects.readable_ids(charlie) == [private_base.pk]
