"""Every view that takes text, fed hostile strings: never a 5xx, and nothing stored keeps a
control character.

The strings: NUL and the other C0 and C1 controls, DEL, right-to-left marks, emoji with
joiners, non-characters, 100,000 characters, and seeded random mixes of all of these;
lone surrogates cannot be encoded by the test client, so they go as invalid UTF-8 bytes
(``%ED%A0%80`` and raw) in query strings and form bodies, and over real HTTP too. The
routes come from the URLconf: a new route fails ``test_every_route_is_fuzzed`` until it
is listed here, with its text fields.
"""

from __future__ import annotations

import http.client
import json
import random
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from apps.accounts.models import ApiToken
from apps.chat.models import Conversation, Feedback, Message
from apps.chat.sharing import start_sharing
from apps.knowledge.cleaning import has_control_characters
from apps.knowledge.models import Chunk, Document, KnowledgeBase
from apps.modelapi import observe
from apps.sources.models import SiteSource
from tests.security.world import ForeignWorld, build_foreign_world

pytestmark = pytest.mark.django_db

_PIECES = [
    "\x00", "\x01\x02\x07\x08", "\x0b\x0c\x1b\x1f", "\x7f", "\x80\x85\x9f", "\u200f", "\u202e",
    "\u200d", "\ufeff", "\ufffe\uffff", "👩\u200d👩\u200d👧", "🏳️\u200d🌈", "é", "e\u0301",
    "日本", "שלום", "²", "%00", "'; --", "<b>", "\t", "\n", "\r\n", " ", "word",
]  # fmt: skip


def _random_strings(count: int, seed: int = 13) -> list[str]:
    rng = random.Random(seed)
    return [
        "".join(rng.choice(_PIECES) for _ in range(rng.choice([1, 3, 20, 400])))
        for _ in range(count)
    ]


STRINGS = [
    "\x00",
    "What is\x00 the policy?",
    "".join(chr(c) for c in range(32)) + "".join(chr(c) for c in range(0x7F, 0xA0)),
    "\u202eRight-to-left\u200f question?",
    "Emoji 👩\u200d👩\u200d👧 and joiners",
    "x" * 100_000,
    "word " * 20_000,
    "\ufffe\uffff\ufeff",
    "",
    *_random_strings(8),
]
INVALID_UTF8 = [b"%ED%A0%80", b"%ED%BF%BF%00", b"%FF%FE%C0%AF", b"\xed\xa0\x80", b"\xff\xfe\x00"]


@pytest.fixture
def world(db) -> ForeignWorld:
    return build_foreign_world()


def _client(user: User | None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def _narrowing(s: str) -> dict[str, Any]:
    """The ask form's filter fields, each given the hostile string."""
    return {"document": [s, "1"], "file_types": [s], "added_after": s, "added_before": s}


# Route → (the world object its URL names, the form fields filled with the string).
TEXT_VIEWS: dict[str, tuple[str | None, Callable[[str], dict[str, Any]]]] = {
    "search:search": (None, lambda s: {"q": s, "kb": s, "type": s, "all": s, "partial": s}),
    "chat:ask": (None, lambda s: {"question": s, "knowledge_base": s, **_narrowing(s)}),
    "chat:ask_stream": (
        None,
        lambda s: {"question": s, "conversation": s, "knowledge_base": s, **_narrowing(s)},
    ),
    "knowledge:document": ("document", lambda s: {"passage": s, "page": s, "view": s}),
    "knowledge:create": (None, lambda s: {"name": s, "description": s, "language": s}),
    "knowledge:settings": (
        "knowledge_base",
        lambda s: {
            "name": s,
            "description": s,
            "language": "english",
            "instructions": s,
            "passages_to_model": s,
            "rerank": s,
            "readers_may_download": s,
        },
    ),
    "chat:conversation": ("conversation", lambda s: {"question": s}),
    "chat:conversation_rename": ("conversation", lambda s: {"title": s}),
    "insight:all": (None, lambda s: {"days": s}),
    "search:document_titles": (None, lambda s: {"q": s}),
    "insight:base": ("knowledge_base", lambda s: {"days": s}),
    "chat:feedback": ("answer", lambda s: {"rating": "1", "comment": s}),
    "knowledge:upload": (
        "knowledge_base",
        lambda s: {"urls": f"https://example.com/{s}\n{s}\nhttps://example.com/ok?{s}"},
    ),
    "knowledge:sharing": ("knowledge_base", lambda s: {"shared_with_all": s, "groups": [s, "1"]}),
    "login": (None, lambda s: {"username": s, "password": s, "next": s, "extra": s}),
    "accounts:tokens": (None, lambda s: {"name": s, "expires_days": s, "read_only": s}),
    # Sign-in through the identity provider (404 here: no provider configured; with one,
    # tests/accounts/test_oidc_protocol.py feeds the callback hostile values).
    "sso:start": (None, lambda s: {"next": s}),
    "sso:callback": (None, lambda s: {"code": s, "state": s, "error": s, "error_description": s}),
    "sources:add": (
        "knowledge_base",
        lambda s: {"start_url": s, "scope": s, "max_pages": s, "max_depth": s, "every_hours": s},
    ),
}
# Routes that take no text of their own: still fed hostile query strings.
NO_TEXT = {
    "logout",
    "chat:conversation_share",
    "chat:conversation_unshare",
    "chat:conversation_export",
    "chat:shared",
    "chat:shared_export",
    "accounts:revoke",
    "chat:conversation_delete",
    "knowledge:list",
    "knowledge:manage",
    "knowledge:status",
    "knowledge:document_file",
    "knowledge:document_page_image",
    "knowledge:reindex",
    "knowledge:delete",
    "sources:source",
    "sources:sync",
    "sources:cancel",
    "sources:delete",
    # Health, readiness and metrics (apps/operations): no text, no sign-in.
    "operations:healthz",
    "operations:readyz",
    "operations:metrics",
}
TARGETS = {
    "accounts:revoke": "api_token",
    "chat:conversation_share": "conversation",
    "chat:conversation_unshare": "conversation",
    "chat:conversation_export": "conversation",
    "chat:conversation_delete": "conversation",
    "knowledge:manage": "knowledge_base",
    "knowledge:status": "knowledge_base",
    "knowledge:document_file": "document",
    "knowledge:document_page_image": "pdf_document",
    "knowledge:reindex": "document",
    "knowledge:delete": "document",
    "sources:source": "site_source",
    "sources:sync": "site_source",
    "sources:cancel": "site_source",
    "sources:delete": "site_source",
}
# The model provider's JSON endpoints have their own fuzz below; the admin is Django's; the
# HTTP API is fuzzed from its OpenAPI document by schemathesis (tests/api/test_schemathesis.py).
NOT_FORMS = ("admin", "localmodels", "localmodels-groq", "api")


def _app_routes() -> set[str]:
    names: set[str] = set()

    def walk(entries: list[Any], namespace: str) -> None:
        for entry in entries:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, ":".join(filter(None, [namespace, entry.namespace])))
            elif isinstance(entry, URLPattern) and entry.name:
                names.add(":".join(filter(None, [namespace, entry.name])))

    walk(get_resolver().url_patterns, "")
    return {name for name in names if name.split(":")[0] not in NOT_FORMS}


def test_every_route_is_fuzzed() -> None:
    assert _app_routes() == set(TEXT_VIEWS) | NO_TEXT, (
        "a route was added or removed: list it in TEXT_VIEWS (with its text fields) or NO_TEXT"
    )


def _url(world: ForeignWorld, route: str) -> str:
    if route in ("chat:shared", "chat:shared_export"):
        return reverse(route, args=[start_sharing(world.conversation)])
    target = TEXT_VIEWS[route][0] if route in TEXT_VIEWS else TARGETS.get(route)
    more = (1,) if route == "knowledge:document_page_image" else ()  # its page number
    return reverse(route, args=[world.pk_of(target), *more] if target else None)


def _read(response: Any) -> bytes:
    """The whole body; a streamed answer is generated only as it is read."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def _assert_nothing_stored_has_control_characters() -> None:
    stored = [
        *Conversation.objects.values_list("title", flat=True),
        *Message.objects.values_list("content", flat=True),
        *Feedback.objects.values_list("comment", flat=True),
        *Document.objects.values_list("title", flat=True),
        *Document.objects.values_list("source_url", flat=True),
        *Chunk.objects.values_list("text", flat=True),
        *KnowledgeBase.objects.values_list("name", flat=True),
        *SiteSource.objects.values_list("start_url", flat=True),
        *SiteSource.objects.values_list("scope", flat=True),
        *ApiToken.objects.values_list("name", flat=True),
    ]
    dirty = [value[:80] for value in stored if has_control_characters(value)]
    assert not dirty, dirty


@pytest.mark.parametrize("route", sorted(TEXT_VIEWS))
def test_text_views_never_fail_on_hostile_strings(world, route) -> None:
    user = None if route == "login" else world.owner
    url = _url(world, route)
    fields = TEXT_VIEWS[route][1]
    for text in STRINGS:
        client = _client(user)
        for response in (client.post(url, fields(text)), client.get(url, fields(text))):
            _read(response)
            assert response.status_code < 500, (route, text[:80], response.status_code)
    _assert_nothing_stored_has_control_characters()


@pytest.mark.parametrize("route", sorted(NO_TEXT))
def test_other_views_never_fail_on_hostile_query_strings(world, route) -> None:
    if route == "operations:readyz":
        observe.worker_seen("fuzz-worker")  # ready: a 503 would be its honest "not ready"
    client = _client(world.owner)
    url = _url(world, route)
    for text in STRINGS[:6]:
        response = client.get(url, {"q": text, text[:50] or "k": text})
        _read(response)
        assert response.status_code < 500, (route, text[:80], response.status_code)


def test_hostile_names_of_uploaded_files_are_cleaned_titles(world) -> None:
    client = _client(world.owner)
    url = reverse("knowledge:upload", args=[world.knowledge_base.pk])
    for number, text in enumerate(STRINGS):
        name = f"{text[:150]}{number}.txt"
        upload = SimpleUploadedFile(name, f"Body {number}: {text[:200]}".encode())
        response = client.post(url, {"files": [upload]}, HTTP_ACCEPT="application/json")
        assert response.status_code == 200, (text[:80], response.status_code)
    _assert_nothing_stored_has_control_characters()


@pytest.mark.parametrize("raw", INVALID_UTF8)
def test_invalid_utf8_in_query_strings_and_form_bodies_never_fails(world, raw) -> None:
    client = _client(world.owner)
    form = "application/x-www-form-urlencoded"
    for route, (_, fields) in TEXT_VIEWS.items():
        url = _url(world, route)
        for name in fields("x"):
            body = name.encode() + b"=" + raw + b"&other=" + raw
            query = body.decode("latin-1")
            responses = [client.get(url, QUERY_STRING=query), client.post(url, body, form)]
            for response in responses:
                _read(response)
                assert response.status_code < 500, (route, name, raw, response.status_code)
    _assert_nothing_stored_has_control_characters()


def _raw_http(base: str, request: bytes) -> int:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.connect()
        assert connection.sock is not None
        connection.sock.sendall(request)
        response = http.client.HTTPResponse(connection.sock, method="GET")
        response.begin()
        response.read()
        return response.status
    finally:
        connection.close()


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /search/?q=%00%ED%A0%80 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /login/?next=%ED%A0%80%00 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /search/?q=\xed\xa0\x80\xff HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /login/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 24\r\n\r\nusername=%ED%A0%80%00&p=",
    ],
)
def test_invalid_bytes_over_real_http_never_fail(app_server_url, request_bytes) -> None:
    status = _raw_http(app_server_url, request_bytes)
    assert status < 500, status


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("embeddings", lambda s: {"model": "all-MiniLM-L6-v2", "input": [s, "ok"]}),
        ("reranking", lambda s: {"model": "local-rerank", "query": s, "docs": [s, "ok"]}),
        (
            "chat/completions",
            lambda s: {
                "model": "local-extractive",
                "messages": [{"role": "user", "content": s}],
                "documents": [{"id": "1", "source": {"type": "text", "text": s + " ok."}}],
            },
        ),
    ],
)
def test_the_local_provider_never_fails_on_hostile_text(path, body) -> None:
    client = Client(raise_request_exception=False)
    url = f"/local/v1/{path}"
    for text in [*STRINGS[:5], "\ud800 lone", "x\udfff"]:
        payload = json.dumps(body(text)).encode()  # lone surrogates travel as \\ud800 escapes
        response = client.post(url, payload, content_type="application/json")
        assert response.status_code < 500, (path, text[:40], response.status_code)
