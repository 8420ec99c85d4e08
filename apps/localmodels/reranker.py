"""The local reranker: embedding similarity blended with term overlap.

Honest about what it is: a bi-encoder plus a lexical signal, weaker than a
cross-encoder, but it reorders fused candidates by closeness to the whole question.
"""

from __future__ import annotations

from collections.abc import Sequence

from apps.localmodels.embedder import embed_texts
from apps.localmodels.lexical import content_terms, term_overlap

SEMANTIC_WEIGHT = 0.75
LEXICAL_WEIGHT = 0.25


def score_documents(query: str, docs: Sequence[str]) -> list[float]:
    """One relevance score per document, in input order."""
    if not docs:
        return []
    vectors = embed_texts([query, *docs])
    similarities = vectors[1:] @ vectors[0]
    terms = content_terms(query)
    return [
        float(SEMANTIC_WEIGHT * sim + LEXICAL_WEIGHT * term_overlap(terms, doc))
        for sim, doc in zip(similarities, docs, strict=True)
    ]
