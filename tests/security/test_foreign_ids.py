"""Every URL that takes an id, asked with another user's id: 404, and nothing read first.

The routes are enumerated from the URLconf itself: a new route with a parameter that is
neither in ``CASES`` nor exempted (with its reason) fails
``test_every_route_that_takes_an_id_is_in_the_table``.

"Nothing read first" (see ``tests/security/world.py``): every row the database returns
during the intruder's request is kept, and none may hold the marker that every text field
of the foreign objects carries; no stored file may be opened. The same probes run on the
owner's request must see the marker (and the owner's download must open the file), so
each case proves its probe works.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from apps.accounts.models import ApiToken
from apps.chat.models import Conversation, Feedback
from apps.knowledge.models import Document
from apps.sources.models import SiteSource
from tests.security.test_api_foreign_ids import API_CASES
from tests.security.world import ForeignWorld, build_foreign_world, watch_reads

pytestmark = pytest.mark.django_db


def _unchanged_base(world: ForeignWorld) -> None:
    world.knowledge_base.refresh_from_db()
    assert not world.knowledge_base.shared_with_all
    assert not world.knowledge_base.groups.exists()
    assert not world.knowledge_base.editor_groups.exists()
    assert world.knowledge_base.name != "Renamed" and world.knowledge_base.rerank
    assert world.knowledge_base.documents.count() == 2  # the text file and the PDF


def _unchanged_document(world: ForeignWorld) -> None:
    document = Document.objects.get(pk=world.document.pk)
    assert document.status == Document.Status.READY and document.chunks.count() == 1


def _unchanged_conversation(world: ForeignWorld) -> None:
    conversation = Conversation.objects.get(pk=world.conversation.pk)
    assert conversation.title == world.conversation.title
    assert conversation.messages.count() == 2
    assert conversation.share_token is None
    assert not Feedback.objects.exists()


def _unchanged_source(world: ForeignWorld) -> None:
    _unchanged_base(world)
    [source] = SiteSource.objects.filter(knowledge_base=world.knowledge_base)
    assert source.pk == world.site_source.pk and source.state == SiteSource.State.IDLE
    assert not source.cancel_requested and not source.pages.exists()


def _unchanged_token(world: ForeignWorld) -> None:
    token = ApiToken.objects.get(pk=world.api_token.pk)
    assert token.revoked_at is None and token.name == world.api_token.name


@dataclass(frozen=True)
class Case:
    target: str  # the ForeignWorld attribute whose pk goes into the URL
    method: str = "get"
    data: dict[str, Any] = field(default_factory=dict)
    unchanged: Callable[[ForeignWorld], None] = _unchanged_base
    owner_opens_file: bool = False
    more_args: tuple[int, ...] = ()  # URL parameters after the id (a page number)


CASES: dict[str, Case] = {
    "chat:conversation": Case("conversation", unchanged=_unchanged_conversation),
    "chat:conversation_rename": Case(
        "conversation", "post", {"title": "renamed"}, unchanged=_unchanged_conversation
    ),
    "chat:conversation_delete": Case("conversation", "post", unchanged=_unchanged_conversation),
    "chat:conversation_share": Case("conversation", "post", unchanged=_unchanged_conversation),
    "chat:conversation_unshare": Case("conversation", "post", unchanged=_unchanged_conversation),
    "chat:conversation_export": Case("conversation", unchanged=_unchanged_conversation),
    "chat:feedback": Case("answer", "post", {"rating": "-1"}, unchanged=_unchanged_conversation),
    "knowledge:manage": Case("knowledge_base"),
    "insight:base": Case("knowledge_base"),
    "knowledge:status": Case("knowledge_base"),
    "knowledge:upload": Case(
        "knowledge_base", "post", {"urls": "https://example.com/planted-page"}
    ),
    "knowledge:sharing": Case("knowledge_base", "post", {"shared_with_all": "on"}),
    "knowledge:settings": Case(
        "knowledge_base", "post", {"name": "Renamed", "language": "english", "rerank": ""}
    ),
    "knowledge:document": Case("document", unchanged=_unchanged_document),
    "knowledge:document_file": Case(
        "document", unchanged=_unchanged_document, owner_opens_file=True
    ),
    "knowledge:document_page_image": Case(
        "pdf_document", unchanged=_unchanged_document, owner_opens_file=True, more_args=(1,)
    ),
    "knowledge:reindex": Case("document", "post", unchanged=_unchanged_document),
    "knowledge:delete": Case("document", "post", unchanged=_unchanged_document),
    "sources:add": Case(
        "knowledge_base",
        "post",
        {
            "start_url": "https://example.com/planted/",
            "max_pages": 5,
            "max_depth": 1,
            "every_hours": 24,
        },
        unchanged=_unchanged_source,
    ),
    "sources:source": Case("site_source", unchanged=_unchanged_source),
    "sources:sync": Case("site_source", "post", unchanged=_unchanged_source),
    "sources:cancel": Case("site_source", "post", unchanged=_unchanged_source),
    "sources:delete": Case("site_source", "post", unchanged=_unchanged_source),
    "accounts:revoke": Case("api_token", "post", unchanged=_unchanged_token),
}

# Routes whose parameter is not an id: a share token is a capability, and an unknown or
# malformed one is a 404 while a non-reader's is a 403 (tests/chat/test_sharing.py).
EXEMPT_ROUTES = {"chat:shared", "chat:shared_export"}
# Namespaces whose parameters are not ids of anyone's data, or that are checked elsewhere.
EXEMPT_NAMESPACES = {
    "admin": "Django admin: staff only; its views of our models are scoped by "
    "ScopedAdminMixin and covered by test_admin_pages_of_foreign_objects_show_nothing.",
    "localmodels": "The model provider API: <model_id> names a public model, not user data.",
    "localmodels-groq": "The same provider API under Groq's path layout.",
}


def _parameters(pattern: Any) -> set[str]:
    converters = getattr(pattern, "converters", None)
    if converters is not None:
        return set(converters)
    return set(pattern.regex.groupindex)


def routes_with_parameters() -> dict[str, str]:
    """``namespace:name`` → full route, for every URL pattern that takes a parameter."""
    found: dict[str, str] = {}

    def walk(entries: list[Any], namespace: str, prefix: str, inherited: set[str]) -> None:
        for entry in entries:
            params = inherited | _parameters(entry.pattern)
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                inner = ":".join(filter(None, [namespace, entry.namespace or ""]))
                walk(entry.url_patterns, inner, route, params)
            elif isinstance(entry, URLPattern) and params:
                name = ":".join(filter(None, [namespace, entry.name or route]))
                found[name] = route

    walk(get_resolver().url_patterns, "", "", set())
    return found


def test_every_route_that_takes_an_id_is_in_the_table() -> None:
    routes = routes_with_parameters()
    assert "knowledge:document" in routes and "chat:conversation" in routes
    covered = set(CASES) | set(API_CASES)
    uncovered = {
        name: route
        for name, route in routes.items()
        if name not in covered | EXEMPT_ROUTES and name.split(":")[0] not in EXEMPT_NAMESPACES
    }
    assert not uncovered, f"routes with an id but no foreign-id case: {uncovered}"
    assert not covered - set(routes), "cases for routes that no longer exist"


@pytest.fixture
def world(db) -> ForeignWorld:
    return build_foreign_world()


def _intruder(kind: str) -> Client:
    client = Client()
    if kind == "plain":
        client.force_login(User.objects.create_user("intruder"))
    elif kind == "staff":
        client.force_login(User.objects.create_user("other-staff", is_staff=True))
    return client


def _request(client: Client, case: Case, url: str) -> Any:
    return getattr(client, case.method)(url, case.data)


@pytest.mark.parametrize("intruder", ["plain", "staff", "anonymous"])
@pytest.mark.parametrize("route", sorted(CASES))
def test_another_users_id_is_not_found_and_nothing_of_it_is_read(
    world, monkeypatch, route: str, intruder: str
) -> None:
    case = CASES[route]
    url = reverse(route, args=[world.pk_of(case.target), *case.more_args])
    client = _intruder(intruder)
    with watch_reads(monkeypatch) as reads:
        response = _request(client, case, url)
    if intruder == "anonymous":
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    else:
        assert response.status_code == 404
    assert not reads.saw_mark, "a row of the foreign object was read"
    assert reads.opened_files == [] and reads.unchecked_queries == []
    case.unchanged(world)

    owner = Client()
    owner.force_login(world.owner)
    with watch_reads(monkeypatch) as control:
        response = _request(owner, case, url)
    assert response.status_code in (200, 302), "the owner must reach it: the probe is real"
    assert control.saw_mark, "the probe must see the owner's read of the same object"
    assert bool(control.opened_files) == case.owner_opens_file


BODY_CASES = {
    "stream, foreign conversation": ("chat:ask_stream", "post", "conversation", 404),
    "stream, foreign knowledge base": ("chat:ask_stream", "post", "knowledge_base", 400),
    "ask form, foreign knowledge base": ("chat:ask", "post", "knowledge_base", 200),
    "search, foreign knowledge base": ("search:search", "get", "kb", 200),
}


@pytest.mark.parametrize("case", sorted(BODY_CASES))
def test_foreign_ids_in_forms_and_query_strings_read_nothing(world, monkeypatch, case) -> None:
    route, method, parameter, status = BODY_CASES[case]
    target = "conversation" if parameter == "conversation" else "knowledge_base"
    data = {"question": "passage text", "q": "passage text", parameter: world.pk_of(target)}
    client = _intruder("plain")
    with watch_reads(monkeypatch) as reads:
        response = getattr(client, method)(reverse(route), data)
    assert response.status_code == status
    assert not reads.saw_mark and reads.opened_files == []


ADMIN_MODELS = {"knowledgebase": "knowledge_base", "document": "document", "chunk": "chunk"}


@pytest.mark.parametrize("view", ["change", "delete", "history"])
@pytest.mark.parametrize("model", sorted(ADMIN_MODELS))
def test_admin_pages_of_foreign_objects_show_nothing(world, monkeypatch, model, view) -> None:
    staff = User.objects.create_user("other-staff", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="knowledge"))
    client = Client()
    client.force_login(staff)
    url = reverse(f"admin:knowledge_{model}_{view}", args=[world.pk_of(ADMIN_MODELS[model])])
    with watch_reads(monkeypatch) as reads:
        response = client.get(url)
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    assert not reads.saw_mark
    control = Client()
    control.force_login(world.owner)
    world.owner.user_permissions.set(staff.user_permissions.all())
    with watch_reads(monkeypatch) as seen:
        assert control.get(url).status_code == 200
    assert seen.saw_mark
