"""Reference rankers for the evaluation: BM25 (bm25s) and exact cosine similarity (numpy).

They rank the same stored chunks as the app's SQL, so a difference in the figures is a
difference in ranking, not in data. bm25s (and PyStemmer, when installed) come with the
``bench`` and ``dev`` extras; they are imported only when an evaluation runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt


def english_stemmer() -> tuple[Callable[[list[str]], list[str]] | None, str]:
    """PyStemmer's English Snowball stemmer (like PostgreSQL's ``english`` config), if present."""
    try:
        import Stemmer
    except ImportError:
        return None, "none"
    stemmer = Stemmer.Stemmer("english")
    return stemmer.stemWords, "snowball-english"


class Bm25Ranker:
    """bm25s (Lucene BM25, k1=1.5, b=0.75) over ``texts``; ``rank`` returns their indexes."""

    def __init__(self, texts: Sequence[str]) -> None:
        import bm25s

        self._bm25s: Any = bm25s
        self._stem, self.stemmer_name = english_stemmer()
        self._size = len(texts)
        self._retriever = bm25s.BM25()
        self._retriever.index(self._tokenize(list(texts), return_ids=True), show_progress=False)

    def _tokenize(self, texts: list[str], *, return_ids: bool) -> Any:
        return self._bm25s.tokenize(
            texts, stopwords="en", stemmer=self._stem, return_ids=return_ids, show_progress=False
        )

    def rank(self, query: str, *, depth: int) -> list[int]:
        tokens = self._tokenize([query], return_ids=False)
        if not tokens or not tokens[0]:
            return []
        indexes, scores = self._retriever.retrieve(
            tokens, k=min(depth, self._size), show_progress=False, n_threads=1
        )
        # bm25s fills up to k with zero-score rows; a text that shares no term is no match.
        return [int(i) for i, s in zip(indexes[0], scores[0], strict=True) if s > 0]


class CosineRanker:
    """Brute-force cosine similarity over every stored vector: the exact top-k."""

    def __init__(self, vectors: npt.NDArray[np.float32]) -> None:
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self._unit = vectors / np.maximum(norms, 1e-12)

    def rank(self, query_vector: Sequence[float], *, depth: int) -> list[int]:
        query = np.asarray(query_vector, dtype=np.float32)
        similarities = self._unit @ (query / max(float(np.linalg.norm(query)), 1e-12))
        depth = min(depth, len(similarities))
        if depth <= 0:
            return []
        top = np.argpartition(-similarities, depth - 1)[:depth]
        # Ties broken by position (chunk id order), like the SQL's ORDER BY … id.
        return [int(i) for i in top[np.lexsort((top, -similarities[top]))]]
