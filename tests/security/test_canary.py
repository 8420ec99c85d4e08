"""A canary in a group-B document never reaches someone outside group B, on any surface.

The question's best match is the group-B document (the control: while the user is in
group B, the canary is on every surface). Outside group B it is absent from the answer
page, the stored citations and passages, the stream, the citation previews, the search
page, and the chunks retrieval returns are a subset of the readable ones.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from apps.chat.models import Message
from apps.knowledge.indexing import index_document
from apps.knowledge.models import Chunk, KnowledgeBase
from apps.knowledge.uploads import add_file_document
from apps.search import retrieval

pytestmark = pytest.mark.django_db

CANARY = f"CANARY{uuid.uuid4().hex[:10].upper()}"
QUESTION = "What is the vault code word?"


def _indexed(knowledge_base: KnowledgeBase, name: str, text: str) -> None:
    document = add_file_document(knowledge_base=knowledge_base, filename=name, data=text.encode())
    assert index_document(document_id=document.pk).outcome == "indexed"


@pytest.fixture
def group_b(db) -> Group:
    return Group.objects.create(name="group-b")


@pytest.fixture
def bases(alice, group_b) -> dict[str, KnowledgeBase]:
    public = KnowledgeBase.objects.create(name="Handbook", owner=alice, shared_with_all=True)
    _indexed(
        public,
        "vault-hours.md",
        "# Vault hours\n\nThe vault opens at 9 and closes at 17. Ask reception for the visitor log.",
    )
    secret = KnowledgeBase.objects.create(name="Group B vault", owner=alice)
    secret.groups.add(group_b)
    _indexed(secret, "vault-code.md", f"# Vault code\n\nThe vault code word is {CANARY}.")
    return {"public": public, "secret": secret}


@pytest.fixture
def retrieved_chunk_ids(monkeypatch) -> list[int]:
    """Every chunk id the retrieval SQL returns, however the question came in."""
    seen: list[int] = []
    original = retrieval.hybrid_candidates

    def spy(**kwargs: Any) -> list[retrieval.Candidate]:
        candidates = original(**kwargs)
        seen.extend(c.chunk_id for c in candidates)
        return candidates

    monkeypatch.setattr(retrieval, "hybrid_candidates", spy)
    return seen


def _stream(client: Client) -> str:
    response = client.post(reverse("chat:ask_stream"), {"question": QUESTION})
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    return b"".join(response.streaming_content).decode()


def surfaces(client: Client) -> dict[str, str]:
    """What the user can see of one question, on every surface that shows passages."""
    answer = client.post(reverse("chat:ask"), {"question": QUESTION}, follow=True)
    texts = {"answer page (with citation previews)": answer.content.decode()}
    texts["stream"] = _stream(client)
    search = reverse("search:search")
    texts["search page"] = client.get(search, {"q": QUESTION}).content.decode()
    texts["search page, all results"] = client.get(
        search, {"q": QUESTION, "all": "1"}
    ).content.decode()
    texts["search results fragment"] = client.get(
        search, {"q": QUESTION, "partial": "1"}
    ).content.decode()
    latest = Message.objects.filter(role="assistant").order_by("-pk").first()
    if latest is not None:
        texts["stored citations"] = repr(latest.citations)
        texts["stored passages"] = repr(latest.retrieved)
    return texts


def _readable_chunk_ids(user: User) -> set[int]:
    return set(
        Chunk.objects.filter(
            knowledge_base_id__in=KnowledgeBase.objects.readable_ids(user)
        ).values_list("pk", flat=True)
    )


def _assert_sealed(client: Client, user: User, retrieved_chunk_ids: list[int]) -> None:
    retrieved_chunk_ids.clear()
    leaks = [name for name, text in surfaces(client).items() if CANARY in text]
    assert not leaks, f"the canary leaked through: {leaks}"
    assert retrieved_chunk_ids, "retrieval ran (the question found readable passages)"
    assert set(retrieved_chunk_ids) <= _readable_chunk_ids(user)


def test_outside_group_b_the_canary_is_on_no_surface(
    client, bob, bases, retrieved_chunk_ids
) -> None:
    client.force_login(bob)
    _assert_sealed(client, bob, retrieved_chunk_ids)
    direct = retrieval.retrieve(
        user=bob, question=QUESTION, knowledge_base_ids=[bases["secret"].pk]
    )
    assert direct.passages == []


def test_leaving_group_b_mid_session_applies_to_the_next_question(
    client, bob, bases, group_b, retrieved_chunk_ids
) -> None:
    bob.groups.add(group_b)
    client.force_login(bob)
    seen = surfaces(client)
    # Control: the canary document is the best match, shown on every surface.
    assert all(CANARY in text for text in seen.values()), {
        name: CANARY in text for name, text in seen.items()
    }
    earlier = Message.objects.filter(role="assistant").first()
    assert earlier is not None

    bob.groups.remove(group_b)
    _assert_sealed(client, bob, retrieved_chunk_ids)
    page = client.get(reverse("chat:conversation", args=[earlier.conversation_id]))
    assert page.status_code == 200 and CANARY not in page.content.decode()


def test_a_deactivated_user_is_signed_out_and_reads_nothing_on_the_next_question(
    client, bob, bases, group_b, retrieved_chunk_ids
) -> None:
    bob.groups.add(group_b)
    client.force_login(bob)
    assert CANARY in _stream(client)
    bob.is_active = False
    bob.save()
    retrieved_chunk_ids.clear()
    response = client.post(reverse("chat:ask"), {"question": QUESTION})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert _stream(client) == "HTTP 302"
    search = client.get(reverse("search:search"), {"q": QUESTION})
    assert search.status_code == 302 and CANARY not in search.content.decode()
    assert retrieved_chunk_ids == []
    assert retrieval.retrieve(user=bob, question=QUESTION).passages == []
