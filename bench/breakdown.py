"""Where the time of one answer goes, stage by stage, with the local provider.

    .venv/bin/python bench/breakdown.py [--questions 100] [--e2e 50] [--no-wait]

The demo knowledge base is indexed (like tests/conftest.py's ``demo_world``) in the bench
database ``bench_load``. The local provider runs in a SEPARATE gunicorn process (the app
itself, DEBUG=0, 1 worker x 4 threads), so the model does not share this process's GIL.
For each question this process runs the stages of ``answer_events`` (behind ``ask`` and the streamed view) in their order,
calling the app's own functions, and times each one:

  permissions  readable_knowledge_base_ids          (apps/search/permissions.py)
  embed        create_embeddings([question])         (HTTP → local provider /embeddings)
  retrieve     same_embedding_space + hybrid_candidates + load_passages (SQL)
  rerank       rerank_passages                       (HTTP → local provider /reranking)
  generate     generate_answer                       (HTTP → local provider /chat/completions)
  store        store_exchange                        (the conversation and both messages)
  render       render_to_string("chat/_message.html") (render_answer, sources, popovers)

Interleaved with those (the first ``--e2e`` questions), the same question is asked over HTTP
through ``POST /ask/stream`` of that gunicorn (which then also serves the provider to itself),
reading the whole SSE stream: time to the first byte, the first answer words and the end. Prints a table; writes
bench/results/breakdown.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.serving import (
    RESULTS,
    configure_environment,
    index_demo_world,
    load_average,
    model_env,
    prepare_database,
    signed_in_sessions,
    start_gunicorn,
    stop,
    wait_for_quiet,
)

configure_environment()

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.template.loader import render_to_string  # noqa: E402

from apps.chat.answering import generate_answer, store_exchange  # noqa: E402
from apps.knowledge.demo import DEMO_USERNAME  # noqa: E402
from apps.knowledge.models import KnowledgeBase  # noqa: E402
from apps.modelapi.client import create_embeddings  # noqa: E402
from apps.search.retrieval import (  # noqa: E402
    load_passages,
    rerank_passages,
    retrieve,
    same_embedding_space,
)
from apps.search.sql import hybrid_candidates  # noqa: E402

QUESTIONS = [
    "How often are laptops replaced?",
    "What are the core working hours?",
    "How long is parental leave?",
    "How many days of paid holiday do employees get?",
    "What is the yearly learning budget for courses and books?",
    "How quickly must a lost or stolen laptop be reported?",
    "What is the nightly hotel cap in Europe?",
    "When is business class allowed on a flight?",
    "How much can I spend on meals per day while travelling?",
    "When must expense reports be filed?",
    "Who can request a corporate card?",
    "Is alcohol reimbursed on business trips?",
    "How quickly must a Severity 1 incident be acknowledged?",
    "What should the incident channel be named?",
    "When is a blameless postmortem required?",
    "What does the incident commander do during an incident?",
    "Where do I find the guest Wi-Fi password?",
    "How do I book a desk in the Lisbon office?",
    "Where can I leave my bicycle at the office?",
    "When is the Lisbon office open?",
    "How large can a file be in Lumen Sync?",
    "How is customer data encrypted in Lumen Sync?",
    "Which platforms does the Lumen Sync desktop app run on?",
    "How long are older file versions kept?",
    "What support do Enterprise customers get?",
]
STAGES = ["permissions", "embed", "retrieve", "rerank", "generate", "store", "render"]
T = TypeVar("T")


def timed(stage: str, times: dict[str, float], call: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = call()
    times[stage] = (time.perf_counter() - started) * 1000
    return result


def answer_in_stages(user: User, question: str) -> tuple[dict[str, float], list[int]]:
    """One answer through the app's own functions, in the order of ``answer_events``."""
    t: dict[str, float] = {}
    allowed = timed("permissions", t, lambda: KnowledgeBase.objects.readable_ids(user))
    vector = timed("embed", t, lambda: create_embeddings([question])[0])

    def candidates_and_passages() -> Any:
        same_space = same_embedding_space(allowed)
        candidates = hybrid_candidates(
            query_text=question,
            query_vector=vector,
            knowledge_base_ids=allowed,
            vector_knowledge_base_ids=same_space,
            limit=settings.RETRIEVAL_CANDIDATES,
        )
        return load_passages(candidates, knowledge_base_ids=allowed)

    passages = timed("retrieve", t, candidates_and_passages)
    retrieval = timed(
        "rerank", t, lambda: rerank_passages(question, passages, top_n=settings.RETRIEVAL_TOP_N)
    )
    content, citations, metadata = timed(
        "generate", t, lambda: generate_answer(question, retrieval)
    )
    outcome = timed(
        "store",
        t,
        lambda: store_exchange(
            user=user,
            question=question,
            knowledge_base_ids=allowed,
            conversation=None,
            content=content,
            citations=citations,
            retrieval=retrieval,
            metadata=metadata,
        ),
    )
    timed("render", t, lambda: render_to_string("chat/_message.html", {"message": outcome.message}))
    t["total"] = sum(t[s] for s in STAGES)
    return t, [p.chunk_id for p in retrieval.passages]


def same_as_retrieve(user: User, question: str, staged_ids: list[int]) -> bool:
    """The staged calls find exactly what ``retrieve()`` finds (no logic drifted)."""
    return [p.chunk_id for p in retrieve(user=user, question=question).passages] == staged_ids


def csrf_token(client: httpx.Client, base_url: str) -> str:
    page = client.get(f"{base_url}/").text
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not match:
        raise RuntimeError("no CSRF token on the ask page (not signed in?)")
    return match.group(1)


def ask_over_http(client: httpx.Client, base_url: str, token: str, question: str) -> dict:
    """POST /ask/stream and read the whole SSE stream; times in ms."""
    started = time.perf_counter()
    first_byte = first_words = None
    events: list[str] = []
    with client.stream(
        "POST",
        f"{base_url}/ask/stream",
        data={"question": question, "csrfmiddlewaretoken": token},
        headers={"X-CSRFToken": token},
    ) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            now = (time.perf_counter() - started) * 1000
            first_byte = first_byte if first_byte is not None else now
            if line.startswith("event: "):
                events.append(line[7:])
                if line == "event: delta" and first_words is None:
                    first_words = now
    total = (time.perf_counter() - started) * 1000
    if "done" not in events:
        raise RuntimeError(f"stream ended without done: {events[-3:]}")
    return {"first_byte": first_byte, "first_words": first_words, "total": total}


def percentiles(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=float)
    return {
        "n": len(values),
        "mean": round(float(array.mean()), 2),
        "p50": round(float(np.percentile(array, 50)), 2),
        "p95": round(float(np.percentile(array, 95)), 2),
        "max": round(float(array.max()), 2),
    }


def print_table(title: str, rows: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    print(f"{'stage':<14}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}{'max ms':>10}")
    for name, row in rows.items():
        print(
            f"{name:<14}{row['p50']:>10.1f}{row['p95']:>10.1f}{row['mean']:>10.1f}{row['max']:>10.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--e2e", type=int, default=50, help="questions asked over HTTP (0: none)")
    parser.add_argument("--no-wait", action="store_true", help="do not wait for a quiet machine")
    parser.add_argument("--max-wait", type=int, default=600, help="seconds to wait for quiet")
    args = parser.parse_args()

    prepare_database()
    provider = start_gunicorn("breakdown-provider", workers=1, threads=4, env={})
    try:
        base = f"{provider.url}/local/v1"
        documents, chunks = index_demo_world(base)
        for key, value in model_env(base, local=True).items():
            setattr(settings, key, value)
        # The server answers /ask/stream with its own provider (SITE_URL is its address).
        user = User.objects.get(username=DEMO_USERNAME)
        questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(args.questions)]
        for question in QUESTIONS[:3]:  # warm-up: model loaded, connections open
            answer_in_stages(user, question)
        conditions: dict[str, Any] = {
            "quiet": None if args.no_wait else wait_for_quiet(max_wait=args.max_wait)
        }
        conditions["loadavg_before"] = load_average()
        client = httpx.Client(timeout=120)
        client.cookies.set("sessionid", signed_in_sessions(1)[0])
        token = csrf_token(client, provider.url)
        ask_over_http(client, provider.url, token, QUESTIONS[0])  # warm-up
        staged: list[tuple[dict[str, float], list[int]]] = []
        e2e: list[dict] = []
        # Interleaved, so that both see the same machine (other work comes and goes).
        for i, question in enumerate(questions):
            staged.append(answer_in_stages(user, question))
            if i < args.e2e:
                e2e.append(ask_over_http(client, provider.url, token, question))
        agree = same_as_retrieve(user, questions[0], staged[0][1])
        conditions["loadavg_after"] = load_average()
    finally:
        stop(provider)

    stage_rows = {s: percentiles([t[s] for t, _ in staged]) for s in [*STAGES, "total"]}
    e2e_rows = (
        {k: percentiles([r[k] for r in e2e]) for k in ("first_byte", "first_words", "total")}
        if e2e
        else {}
    )
    print_table(f"Answer stages, local provider ({len(staged)} questions), ms", stage_rows)
    if e2e_rows:
        print_table(f"POST /ask/stream over HTTP ({len(e2e)} questions), ms", e2e_rows)
    print(f"\nstaged retrieval == retrieve(): {agree}; load average {conditions}")
    result = {
        "benchmark": "breakdown",
        "command": " ".join([".venv/bin/python", *sys.argv]),
        "provider_command": " ".join(provider.command),
        "provider": "local provider in a separate gunicorn process (1 worker, 4 threads, keep-alive off), DEBUG=0",
        "knowledge_base": {"documents": documents, "chunks": chunks},
        "questions": {"distinct": len(QUESTIONS), "asked": len(staged), "list": QUESTIONS},
        "settings": {
            "RETRIEVAL_CANDIDATES": settings.RETRIEVAL_CANDIDATES,
            "RETRIEVAL_TOP_N": settings.RETRIEVAL_TOP_N,
            "EMBEDDING_MODEL": settings.EMBEDDING_MODEL,
            "CHAT_MODEL": settings.CHAT_MODEL,
        },
        "stages_ms": stage_rows,
        "ask_stream_http_ms": e2e_rows,
        "staged_retrieval_matches_retrieve": agree,
        "per_question_ms": [t for t, _ in staged],
        "conditions": {**conditions, "cpu_count": os.cpu_count()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "breakdown.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS / 'breakdown.json'}")


if __name__ == "__main__":
    main()
