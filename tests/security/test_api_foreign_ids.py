"""Every API route that takes an id, asked with another user's token: a JSON 404, and
nothing of the foreign object read first (the same probes as ``test_foreign_ids``).

The table is part of ``test_every_route_that_takes_an_id_is_in_the_table`` there: a new
API route with a parameter fails it until it is listed here. Each case also runs with the
owner's own token, which must reach the object and be seen reading it, so the probe is real.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from apps.accounts.tokens import create_token
from apps.chat.models import Conversation
from apps.knowledge.models import Document
from tests.security.world import ForeignWorld, build_foreign_world, watch_reads

pytestmark = pytest.mark.django_db


def _unchanged_base(world: ForeignWorld) -> None:
    assert world.knowledge_base.documents.count() == 2  # the text file and the PDF


def _unchanged_document(world: ForeignWorld) -> None:
    document = Document.objects.get(pk=world.document.pk)
    assert document.status == Document.Status.READY and document.chunks.count() == 1


def _unchanged_conversation(world: ForeignWorld) -> None:
    conversation = Conversation.objects.get(pk=world.conversation.pk)
    assert conversation.messages.count() == 2


def _no_body() -> dict[str, Any]:
    return {}


def _one_file() -> dict[str, Any]:
    return {"files": [SimpleUploadedFile("planted.txt", b"Planted by an intruder.")]}


@dataclass(frozen=True)
class ApiCase:
    target: str  # the ForeignWorld attribute whose pk goes into the URL
    method: str = "get"
    body: Callable[[], dict[str, Any]] = _no_body
    multipart: bool = False
    model_id: bool = False  # the URL names the base as an OpenAI model id, "kb-<id>"
    unchanged: Callable[[ForeignWorld], None] = _unchanged_base


API_CASES: dict[str, ApiCase] = {
    "api:conversation": ApiCase("conversation", unchanged=_unchanged_conversation),
    "api:delete_conversation": ApiCase("conversation", "delete", unchanged=_unchanged_conversation),
    "api:documents": ApiCase("knowledge_base"),
    "api:upload_documents": ApiCase("knowledge_base", "post", _one_file, multipart=True),
    "api:add_url": ApiCase(
        "knowledge_base", "post", lambda: {"url": "https://example.com/planted-page"}
    ),
    "api:document": ApiCase("document", unchanged=_unchanged_document),
    "api:delete": ApiCase("document", "delete", unchanged=_unchanged_document),
    "api:reindex": ApiCase("document", "post", unchanged=_unchanged_document),
    "api:openai_model": ApiCase("knowledge_base", model_id=True),
    "api:openai_groq_model": ApiCase("knowledge_base", model_id=True),
}


@pytest.fixture
def world(db) -> ForeignWorld:
    return build_foreign_world()


def _token_of(kind: str) -> str | None:
    if kind == "anonymous":
        return None
    user = User.objects.create_user(f"intruder-{kind}", is_staff=kind == "staff")
    return create_token(user, "intruder")[1]


def _request(case: ApiCase, url: str, token: str | None) -> Any:
    client = Client(raise_request_exception=False)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    send = getattr(client, case.method)
    if case.method == "get":
        return send(url, headers=headers)
    if case.multipart:
        return send(url, case.body(), headers=headers)
    return send(url, case.body(), content_type="application/json", headers=headers)


def _url(world: ForeignWorld, route: str) -> str:
    case = API_CASES[route]
    pk = world.pk_of(case.target)
    return reverse(route, args=[f"kb-{pk}" if case.model_id else pk])


@pytest.mark.parametrize("intruder", ["plain", "staff", "anonymous"])
@pytest.mark.parametrize("route", sorted(API_CASES))
def test_another_users_id_through_the_api_is_not_found_and_nothing_of_it_is_read(
    world, monkeypatch, route: str, intruder: str
) -> None:
    case = API_CASES[route]
    url = _url(world, route)
    token = _token_of(intruder)
    with watch_reads(monkeypatch) as reads:
        response = _request(case, url, token)
    assert response["Content-Type"].startswith("application/json")
    assert response.status_code == (401 if intruder == "anonymous" else 404), response.content
    assert "error" in response.json()
    assert not reads.saw_mark, "a row of the foreign object was read"
    assert reads.opened_files == [] and reads.unchecked_queries == []
    case.unchanged(world)

    owner_token = create_token(world.owner, "owner")[1]
    with watch_reads(monkeypatch) as control:
        response = _request(case, url, owner_token)
    assert response.status_code == 200, "the owner must reach it: the probe is real"
    assert control.saw_mark, "the probe must see the owner's read of the same object"


BODY_CASES = {
    "ask, foreign knowledge base": ("api:ask", {"question": "passage text"}),
    "ask, foreign conversation": ("api:ask", {"question": "passage text"}),
    "search, foreign knowledge base": ("api:search", {}),
    "chat completions, foreign base as model": ("api:openai_chat_completions", {}),
}


def _body_request(world: ForeignWorld, case: str, token: str) -> Any:
    route, body = BODY_CASES[case]
    client = Client(raise_request_exception=False)
    headers = {"Authorization": f"Bearer {token}"}
    kb = world.knowledge_base.pk
    if route == "api:search":
        return client.get(
            reverse(route), {"q": "passage text", "knowledge_base": kb}, headers=headers
        )
    if route == "api:openai_chat_completions":
        body = {"model": f"kb-{kb}", "messages": [{"role": "user", "content": "passage text"}]}
    elif "conversation" in case:
        body = {**body, "conversation": world.conversation.pk}
    else:
        body = {**body, "knowledge_bases": [kb]}
    return client.post(reverse(route), body, content_type="application/json", headers=headers)


@pytest.mark.parametrize("case", sorted(BODY_CASES))
def test_foreign_ids_in_api_bodies_and_query_strings_read_nothing(world, monkeypatch, case):
    token = _token_of("plain")
    assert token is not None
    with watch_reads(monkeypatch) as reads:
        response = _body_request(world, case, token)
    assert response.status_code == 404, response.content
    assert response.json()["error"]["type"] == "not_found_error"
    assert not reads.saw_mark and reads.opened_files == []


def test_revoking_another_users_token_in_the_browser_is_not_found(world) -> None:
    intruder = Client()
    intruder.force_login(User.objects.create_user("intruder"))
    response = intruder.post(reverse("accounts:revoke", args=[world.api_token.pk]))
    assert response.status_code == 404
    world.api_token.refresh_from_db()
    assert world.api_token.revoked_at is None
