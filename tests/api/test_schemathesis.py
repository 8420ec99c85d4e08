"""schemathesis against /api/v1/openapi.json over real HTTP, with a real token.

Every generated request (schemathesis's valid and invalid ones) must get no 5xx, and every
response must match the document: its status code, content type, headers and body schema;
invalid requests must be refused and valid ones accepted. The examples are bounded
(``MAX_EXAMPLES`` per operation; ask, which runs the local model, ``ASK_EXAMPLES``).

The world: alice (staff) with an indexed knowledge base, a document and a conversation, and
the token every request carries. Generated ids that are valid ids are aimed at these
objects, so the operations run for real instead of answering 404 to random numbers.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from apps.accounts.tokens import create_token
from apps.api.api import api
from apps.api.schemas import MAX_ID
from apps.chat.models import Conversation, Message
from apps.knowledge.indexing import index_document
from apps.knowledge.models import KnowledgeBase
from apps.knowledge.uploads import add_file_document

pytestmark = pytest.mark.django_db(transaction=True)

MAX_EXAMPLES = 20
ASK_EXAMPLES = 4
ASK = "/api/v1/ask"
# Where the API checks meaning beyond what a schema can say, and answers a sentence with 400
# for a request that matches the schema: a URL on a private address or one that is not
# http(s); a chat history whose last message is not the user's.
SEMANTIC_400 = {
    "/api/v1/knowledge-bases/{knowledge_base_id}/urls",
    "/api/v1/openai/chat/completions",
}


@pytest.fixture
def api_world(alice) -> dict[str, Any]:
    """Alice's indexed base, a document and a conversation; her raw token."""
    base = KnowledgeBase.objects.create(name="Handbook", owner=alice, shared_with_all=True)
    text = b"Laptops are replaced every 36 months. Monitors every 60 months."
    document = add_file_document(knowledge_base=base, filename="laptops.txt", data=text)
    assert index_document(document_id=document.pk).outcome == "indexed"
    conversation = Conversation.objects.create(user=alice, title="Laptops")
    conversation.knowledge_bases.add(base)
    Message.objects.create(conversation=conversation, role="user", content="How often?")
    return {
        "token": create_token(alice, "schemathesis")[1],
        "ids": {
            "knowledge_base_id": base.pk,
            "document_id": document.pk,
            "conversation_id": conversation.pk,
        },
    }


# The document the server serves at /api/v1/openapi.json (test_the_served_document_is_this_one),
# loaded at import: schemathesis's fixture loader does not run under pytest 9 (it sets a
# pytest-internal attribute that no longer exists).
schema = schemathesis.openapi.from_dict(api.get_openapi_schema())

BOUNDED = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


def _call(case: Any, world: dict[str, Any], base_url: str) -> None:
    for name, value in list(case.path_parameters.items()):
        if name in world["ids"] and isinstance(value, int) and 1 <= value <= MAX_ID:
            case.path_parameters[name] = world["ids"][name]
    excluded = [positive_data_acceptance] if case.path in SEMANTIC_400 else []
    case.call_and_validate(
        base_url=base_url,
        headers={"Authorization": f"Bearer {world['token']}"},
        excluded_checks=excluded,
        timeout=60,
    )


@schema.exclude(path=ASK).parametrize()
@BOUNDED
def test_every_operation_answers_within_its_schema(case, api_world, app_server_url) -> None:
    _call(case, api_world, app_server_url)


@schema.include(path=ASK).parametrize()
@settings(BOUNDED, max_examples=ASK_EXAMPLES)
def test_asking_answers_within_its_schema(case, api_world, app_server_url) -> None:
    _call(case, api_world, app_server_url)


def test_the_served_document_is_this_one(app_server_url) -> None:
    import httpx

    served = httpx.get(f"{app_server_url}/api/v1/openapi.json", timeout=30).json()
    assert served == json.loads(json.dumps(api.get_openapi_schema()))  # int keys: strings


def _api_models() -> list[type]:
    from pydantic import BaseModel

    found, todo = [], [BaseModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("apps.api."):
                found.append(sub)
    return found


def test_schema_names_are_unique() -> None:
    """The document names its schemas by class name: two classes of one name would be one
    component, and responses of one would be checked against the other."""
    by_name: dict[str, set[str]] = {}
    for model in _api_models():
        by_name.setdefault(model.__name__, set()).add(f"{model.__module__}.{model.__qualname__}")
    duplicates = {name: where for name, where in by_name.items() if len(where) > 1}
    assert not duplicates, duplicates
