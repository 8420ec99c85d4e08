"""A real ingest_worker process killed with SIGKILL mid-document loses nothing."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from apps.knowledge.chunking import chunk_text
from apps.knowledge.extract import Extracted
from apps.knowledge.models import Chunk, Document
from apps.knowledge.uploads import add_upload
from tests.servers import Reply, fake_groq

ROOT = Path(__file__).resolve().parents[2]
TEXT = "\n\n".join(
    f"Paragraph {i} explains step {i} of the recovery drill in some detail." for i in range(60)
)


def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_document_is_replaced_and_the_document_ends_like_a_clean_run(
    knowledge_base, start_worker
) -> None:
    env = {"INGEST_LEASE_SECONDS": "2", "EMBEDDING_BATCH_SIZE": "8"}
    [outcome] = add_upload(knowledge_base=knowledge_base, filename="drill.md", data=TEXT.encode())
    document = outcome.document

    with fake_groq() as stalled:
        stalled.reply("embeddings", Reply(200, {"data": []}, delay=60))
        first = start_worker(**env, EMBEDDINGS_BASE_URL=stalled.base_url)
        try:
            _wait_for(
                lambda: Document.objects.filter(
                    pk=document.pk, stage=Document.Stage.EMBEDDING
                ).exists()
            )
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
    document.refresh_from_db()
    assert document.status == Document.Status.PROCESSING and not document.chunks.exists()

    second = start_worker(**env)
    try:
        time.sleep(2.5)  # let the dead worker's lease run out
        _wait_for(
            lambda: Document.objects.filter(pk=document.pk, status=Document.Status.READY).exists()
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)

    expected = chunk_text(
        Extracted(TEXT),
        target_tokens=django_settings.CHUNK_TARGET_TOKENS,
        overlap_tokens=django_settings.CHUNK_OVERLAP_TOKENS,
    )
    stored = list(
        Chunk.objects.filter(document=document).order_by("ordinal").values_list("ordinal", "text")
    )
    assert stored == [(d.ordinal, d.text) for d in expected]
