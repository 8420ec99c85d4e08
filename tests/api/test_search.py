"""GET /api/v1/search: the search page's passages, as JSON, scoped to what the token reads."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from apps.api.schemas import FileType
from apps.knowledge.models import KnowledgeBase
from apps.search.filters import FILE_TYPES

pytestmark = pytest.mark.django_db

SEARCH = "/api/v1/search"


def test_search_finds_ranked_passages_with_their_document_page_and_highlights(
    demo_world, api_as
) -> None:
    response = api_as(demo_world.user).get(SEARCH, {"q": "laptop replacement"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["query"] == "laptop replacement" and body["results"]
    hit = body["results"][0]
    assert hit["document"]["title"] == "employee-handbook.pdf"
    assert hit["page"] is not None and hit["page_kind"] == "page"
    assert hit["document"]["url"] == (
        f"/documents/{hit['document']['id']}/?passage={hit['chunk_id']}#chunk-{hit['chunk_id']}"
    )
    assert hit["knowledge_base"]["id"] == demo_world.knowledge_base.pk
    marked = [hit["snippet"][s["start"] : s["end"]].lower() for s in hit["highlights"]]
    assert marked and all(m.startswith(("laptop", "replac")) for m in marked)
    assert "<mark>" in hit["snippet_html"]
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_search_filters_by_file_type(demo_world, api_as) -> None:
    body = api_as(demo_world.user).get(SEARCH, {"q": "laptop", "type": "web", "all": "true"}).json()
    assert body["results"] and {r["document"]["mime_type"] for r in body["results"]} == {
        "text/html"
    }


def test_the_file_types_are_the_search_pages_own() -> None:
    assert {t.value for t in FileType} == set(FILE_TYPES)


def test_another_users_token_finds_nothing_and_a_named_private_base_is_not_found(
    demo_world, api_as
) -> None:
    KnowledgeBase.objects.filter(pk=demo_world.knowledge_base.pk).update(shared_with_all=False)
    outsider = User.objects.create_user("outsider")
    api = api_as(outsider)
    assert api.get(SEARCH, {"q": "laptop"}).json()["results"] == []
    named = api.get(SEARCH, {"q": "laptop", "knowledge_base": demo_world.knowledge_base.pk})
    assert named.status_code == 404
    assert named.json()["error"]["type"] == "not_found_error"


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "   \x00 "},
        {"q": "x" * 501},
        {"q": "ok", "type": "spreadsheet"},
        {"q": "ok", "knowledge_base": "abc"},
        {"q": "ok", "knowledge_base": "0"},
        {"q": "ok", "knowledge_base": str(2**64)},
        {"q": "ok", "limit": "1000"},
    ],
)
def test_bad_search_parameters_get_a_400_with_a_sentence(alice, api_as, params) -> None:
    response = api_as(alice).get(SEARCH, params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"].startswith(
        "The request is not valid: "
    )


def test_control_characters_in_the_query_are_dropped(demo_world, api_as) -> None:
    body = api_as(demo_world.user).get(SEARCH, {"q": "lap\x00top"}).json()
    assert body["query"] == "laptop"


def test_a_model_server_that_is_down_gives_a_503_with_its_sentence(
    demo_world, api_as, settings
) -> None:
    settings.EMBEDDINGS_BASE_URL = "http://127.0.0.1:9/v1"
    response = api_as(demo_world.user).get(SEARCH, {"q": "laptop"})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["type"] == "model_error" and error["code"] == "model_server_error"
    assert error["message"].endswith(".")
