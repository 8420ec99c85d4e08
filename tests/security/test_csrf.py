"""CSRF on every form and on the streaming endpoint, with the checks Django skips in tests
turned on (``Client(enforce_csrf_checks=True)``)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.security.inert import elements
from tests.security.test_foreign_ids import routes_with_parameters
from tests.security.world import ForeignWorld, build_foreign_world

pytestmark = pytest.mark.django_db

# Every route that changes something, with a valid body; the URL id names a world object.
POSTS: dict[str, tuple[str | None, dict[str, Any]]] = {
    "login": (None, {"username": "owner", "password": "owner-password"}),
    "logout": (None, {}),
    "chat:ask": (None, {"question": "What is in the passage?"}),
    "chat:ask_stream": (None, {"question": "What is in the passage?"}),
    "chat:conversation": ("conversation", {"question": "And then?"}),
    "chat:conversation_rename": ("conversation", {"title": "Renamed"}),
    "chat:conversation_delete": ("conversation", {}),
    "chat:conversation_share": ("conversation", {}),
    "chat:conversation_unshare": ("conversation", {}),
    "chat:feedback": ("answer", {"rating": "1"}),
    "knowledge:upload": ("knowledge_base", {"urls": "https://example.com/page"}),
    "knowledge:sharing": ("knowledge_base", {"shared_with_all": "on"}),
    "knowledge:settings": ("knowledge_base", {"name": "Renamed", "language": "english"}),
    "knowledge:create": (None, {"name": "A new base", "language": "english"}),
    "knowledge:reindex": ("document", {}),
    "knowledge:delete": ("document", {}),
    "sources:add": (
        "knowledge_base",
        {"start_url": "https://example.com/", "max_pages": 5, "max_depth": 1, "every_hours": 24},
    ),
    "sources:sync": ("site_source", {}),
    "sources:cancel": ("site_source", {}),
    "sources:delete": ("site_source", {}),
    "accounts:tokens": (None, {"name": "CI", "expires_days": "30"}),
    "accounts:revoke": ("api_token", {}),
}
# Pages that only read (GET); a POST to them changes nothing.
READ_ONLY = {
    "search:search",
    "search:document_titles",
    "chat:conversation_export",
    "chat:shared",
    "chat:shared_export",
    "insight:all",
    "insight:base",
    "knowledge:list",
    "knowledge:manage",
    "knowledge:status",
    "knowledge:document",
    "knowledge:document_file",
    "knowledge:document_page_image",
    "sources:source",
    # GET only (405 to a POST); the callback's forgery protection is OpenID Connect's state,
    # tied to the session (tests/accounts/test_oidc_protocol.py).
    "sso:start",
    "sso:callback",
    # Health, readiness, metrics: GET/HEAD only (405 to a POST), no session (apps/operations).
    "operations:healthz",
    "operations:readyz",
    "operations:metrics",
}
# The model provider API takes no cookies: loopback callers or a bearer key only. Neither does
# the HTTP API: a bearer token on every request, never the session (tests/api/test_tokens.py).
NOT_BROWSER_FORMS = ("admin", "localmodels", "localmodels-groq", "api")


def _app_routes() -> set[str]:
    from django.urls import URLPattern, URLResolver, get_resolver

    names: set[str] = set()

    def walk(entries: list[Any], namespace: str) -> None:
        for entry in entries:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, ":".join(filter(None, [namespace, entry.namespace])))
            elif isinstance(entry, URLPattern) and entry.name:
                names.add(":".join(filter(None, [namespace, entry.name])))

    walk(get_resolver().url_patterns, "")
    return {n for n in names if n.split(":")[0] not in NOT_BROWSER_FORMS}


def test_every_route_is_either_a_checked_form_or_read_only() -> None:
    assert _app_routes() == set(POSTS) | READ_ONLY
    assert set(routes_with_parameters()) >= {n for n, (t, _) in POSTS.items() if t}


@pytest.fixture
def world(db) -> ForeignWorld:
    return build_foreign_world()


def _client(world: ForeignWorld, route: str) -> Client:
    client = Client(enforce_csrf_checks=True)
    if route != "login":
        client.force_login(world.owner)
    client.get(reverse("login"))  # sets the CSRF cookie, as any page would
    return client


def _url(world: ForeignWorld, route: str) -> str:
    target = POSTS[route][0]
    return reverse(route, args=[world.pk_of(target)] if target else None)


@pytest.mark.parametrize("route", sorted(POSTS))
def test_a_post_without_the_token_is_refused(world, route) -> None:
    response = _client(world, route).post(_url(world, route), POSTS[route][1])
    assert response.status_code == 403
    assert b"CSRF" in response.content


@pytest.mark.parametrize("route", sorted(POSTS))
def test_the_same_post_with_the_token_passes_the_check(world, route) -> None:
    client = _client(world, route)
    token = client.cookies["csrftoken"].value
    response = client.post(_url(world, route), {**POSTS[route][1], "csrfmiddlewaretoken": token})
    assert response.status_code != 403


def test_the_stream_accepts_the_token_in_its_header(world) -> None:
    client = _client(world, "chat:ask_stream")
    url = reverse("chat:ask_stream")
    data = POSTS["chat:ask_stream"][1]
    assert client.post(url, data).status_code == 403
    token = client.cookies["csrftoken"].value
    assert client.post(url, data, HTTP_X_CSRFTOKEN=token).status_code == 200


@pytest.mark.parametrize(
    "page",
    ["login", "chat:ask", "chat:conversation", "knowledge:manage", "search:search"],
)
def test_every_post_form_on_the_pages_carries_a_token(world, page) -> None:
    client = _client(world, page)
    if page == "login":
        client = Client(enforce_csrf_checks=True)
    target = {"chat:conversation": "conversation", "knowledge:manage": "knowledge_base"}
    args = [world.pk_of(target[page])] if page in target else None
    html = client.get(reverse(page, args=args)).content.decode()
    forms = 0
    found = elements(html)
    for index, element in enumerate(found):
        if element.tag == "form" and element.attrs.get("method", "get").lower() == "post":
            forms += 1
            following = found[index + 1 : index + 1 + 200]
            end = next((i for i, e in enumerate(following) if e.tag == "form"), len(following))
            assert any(
                e.tag == "input" and e.attrs.get("name") == "csrfmiddlewaretoken"
                for e in following[:end]
            ), element
    assert forms or page == "search:search"
