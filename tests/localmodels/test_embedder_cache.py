"""The local provider re-encodes nothing it has embedded recently."""

from __future__ import annotations

import uuid

import numpy as np

from apps.localmodels import embedder


def test_texts_seen_before_are_not_encoded_again_and_give_the_same_vectors(monkeypatch) -> None:
    model = embedder.get_model()
    encoded: list[list[str]] = []
    real_encode = model.encode

    def counting_encode(sentences, **kwargs):
        encoded.append(list(sentences))
        return real_encode(sentences, **kwargs)

    monkeypatch.setattr(model, "encode", counting_encode)
    tag = uuid.uuid4().hex  # texts no earlier test can have embedded
    laptops, hotels, new = (f"{t} ({tag})" for t in ["Laptops: 36 months.", "Hotels: 180.", "New."])
    first = embedder.embed_texts([laptops, hotels])
    again = embedder.embed_texts([hotels, new, new])
    assert encoded == [[laptops, hotels], [new]]
    assert np.array_equal(again[0], first[1])
    assert np.array_equal(again[1], again[2])
    assert again.shape == (3, embedder.DIMENSIONS)


def test_the_cache_keeps_only_the_most_recent_entries(monkeypatch) -> None:
    monkeypatch.setattr(embedder, "CACHE_ENTRIES", 2)
    embedder.embed_texts(["one", "two", "three"])
    assert len(embedder._cache) == 2
