"""Reranking against Groq, Cohere-style and TEI-style servers, normalised to one list."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from apps.modelapi.rerank import RerankUnavailable, forget_detected_dialects, rerank
from apps.modelapi.transport import Endpoint
from tests.servers import FakeGroq, Reply, fake_groq

DOCS = ["alpha", "beta", "gamma"]
NOT_FOUND = Reply(
    404, {"error": {"message": "Unknown request URL", "type": "invalid_request_error"}}
)


@pytest.fixture
def server(settings) -> Iterator[tuple[FakeGroq, Endpoint]]:
    settings.RERANK_DIALECT = "auto"
    settings.MODEL_API_MAX_RETRIES = 0
    forget_detected_dialects()
    with fake_groq() as fake:
        yield fake, Endpoint(fake.base_url, "k", "reranker")
    forget_detected_dialects()


def test_cohere_style_servers_are_detected_once_and_remembered(server) -> None:
    fake, endpoint = server
    fake.reply("reranking", NOT_FOUND)
    fake.reply(
        "rerank",
        Reply(
            200,
            {
                "results": [
                    {"index": 2, "relevance_score": 0.9},
                    {"index": 0, "relevance_score": 0.1},
                ]
            },
        ),
    )
    assert [(r.index, r.score) for r in rerank("q", DOCS, endpoint=endpoint)] == [
        (2, 0.9),
        (0, 0.1),
    ]
    assert fake.requests[1]["json"] == {
        "model": "reranker",
        "query": "q",
        "documents": DOCS,
        "top_n": 3,
    }
    rerank("q", DOCS, endpoint=endpoint)
    assert [r["path"] for r in fake.requests] == [
        "/openai/v1/reranking",
        "/openai/v1/rerank",
        "/openai/v1/rerank",
    ]


def test_tei_servers_get_texts_and_answer_with_a_bare_array(server) -> None:
    fake, endpoint = server
    fake.reply("reranking", NOT_FOUND)
    fake.reply(
        "rerank",
        Reply(422, {"error": "missing field `texts`"}),
        Reply(
            200,
            [{"index": 1, "score": 3.2}, {"index": 0, "score": -1.0}, {"index": 7, "score": 9.9}],
        ),
    )
    ranked = rerank("q", DOCS, endpoint=endpoint)
    assert [(r.index, r.score) for r in ranked] == [(1, 3.2), (0, -1.0)]  # index 7 is not ours
    assert fake.requests[-1]["json"] == {"query": "q", "texts": DOCS}


def test_a_server_without_reranking_is_reported_once_as_unavailable(server) -> None:
    fake, endpoint = server
    fake.reply("reranking", NOT_FOUND)
    fake.reply("rerank", NOT_FOUND)
    with pytest.raises(RerankUnavailable):
        rerank("q", DOCS, endpoint=endpoint)
    asked = len(fake.requests)
    with pytest.raises(RerankUnavailable):
        rerank("q", DOCS, endpoint=endpoint)
    assert len(fake.requests) == asked


def test_a_configured_dialect_is_used_without_probing(server, settings) -> None:
    fake, endpoint = server
    settings.RERANK_DIALECT = "groq"
    fake.reply("reranking", Reply(200, {"results": [{"doc": "gamma", "score": 0.7}]}))
    assert [(r.index, r.score) for r in rerank("q", DOCS, endpoint=endpoint)] == [(2, 0.7)]
    assert len(fake.requests) == 1
