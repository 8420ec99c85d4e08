"""What a chunk's vector is computed from, and the checks every vector passes before it is
stored: one home, so that re-embedded vectors always match ingested ones."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.conf import settings

from apps.knowledge.models import VECTOR_DIMENSIONS
from apps.modelapi.client import create_embeddings
from apps.modelapi.errors import ModelApiError

Progress = Callable[[int, int], None]


def embedding_input(*, title: str, heading: str, text: str) -> str:
    """A chunk's text with the document title and section for context (the full-text entry
    holds the same title and heading: ``Chunk.lexemes``)."""
    context = " — ".join(part for part in (title, heading) if part)
    return f"{context}\n{text}" if context else text


def check_dimensions(vectors: Sequence[Sequence[float]]) -> None:
    """Every vector has the width of the vector column, or nothing is stored."""
    for vector in vectors:
        if len(vector) != VECTOR_DIMENSIONS:
            raise ModelApiError(
                f"the embedding model returned {len(vector)} dimensions; "
                f"this database stores {VECTOR_DIMENSIONS} (a new width needs a migration)",
                endpoint="embeddings",
                retryable=False,
            )


def embed_inputs(inputs: Sequence[str], *, progress: Progress | None = None) -> list[list[float]]:
    """Vectors for ``inputs`` in order, batch by batch (``EMBEDDING_BATCH_SIZE``), each batch
    checked; ``progress(done, total)`` after each (ingestion's heartbeat)."""
    batch = max(1, int(settings.EMBEDDING_BATCH_SIZE))
    vectors: list[list[float]] = []
    for start in range(0, len(inputs), batch):
        embedded = create_embeddings(list(inputs[start : start + batch]))
        check_dimensions(embedded)
        vectors.extend(embedded)
        if progress is not None:
            progress(len(vectors), len(inputs))
    return vectors
