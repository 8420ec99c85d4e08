"""The lexical half ranks by BM25, with statistics that are always those of the stored chunks
and only of the bases the user may read."""

from __future__ import annotations

import math
import re

import pytest
from django.db.models import Sum

from apps.knowledge.models import (
    VECTOR_DIMENSIONS,
    Chunk,
    ChunkLexemes,
    Document,
    KnowledgeBase,
    LexicalPosting,
    LexicalStats,
)
from apps.knowledge.uploads import delete_document
from apps.search.sql import hybrid_candidates

pytestmark = pytest.mark.django_db

_VECTOR = [1.0] + [0.0] * (VECTOR_DIMENSIONS - 1)
_LEXEME = re.compile(r"'((?:[^']|'')+)'(?::([0-9A-D,]+))?")


def _document(knowledge_base: KnowledgeBase, *texts: str, title: str = "") -> Document:
    """A document whose chunks (one per text) are stored the way indexing stores them."""
    document = Document.objects.create(
        knowledge_base=knowledge_base, title=title, source_kind=Document.SourceKind.TEXT
    )
    chunks = Chunk.objects.bulk_create(
        Chunk(
            document=document,
            knowledge_base=knowledge_base,
            ordinal=ordinal,
            text=text,
            char_start=0,
            char_end=len(text),
            token_count=len(text.split()),
            embedding=_VECTOR,
        )
        for ordinal, text in enumerate(texts)
    )
    ChunkLexemes.objects.bulk_create(chunk.lexemes(title=title) for chunk in chunks)
    return document


def _text_ranking(query: str, *bases: KnowledgeBase) -> list[int]:
    candidates = hybrid_candidates(
        query_text=query,
        query_vector=_VECTOR,
        knowledge_base_ids=[b.pk for b in bases],
        limit=50,
        mode="text",
    )
    return [c.chunk_id for c in candidates]


def _term_counts(vector: str) -> dict[str, int]:
    """A tsvector's text form (``'word':1,4B 'other':2``) as term → occurrences."""
    return {
        m.group(1): len(m.group(2).split(",")) if m.group(2) else 1
        for m in _LEXEME.finditer(vector)
    }


def _reference_bm25(query_terms: set[str], bases: list[KnowledgeBase], settings) -> list[int]:
    """BM25 computed in Python from the stored tsvectors, not from postings or statistics."""
    rows = ChunkLexemes.objects.filter(knowledge_base__in=bases).values_list(
        "chunk_id", "search_vector"
    )
    counts = {chunk_id: _term_counts(str(vector)) for chunk_id, vector in rows}
    n = len(counts)
    avgdl = sum(sum(c.values()) for c in counts.values()) / n
    k1, b = settings.BM25_K1, settings.BM25_B
    scores: dict[int, float] = {}
    for term in query_terms:
        having = [chunk for chunk, c in counts.items() if term in c]
        idf = math.log(1 + (n - len(having) + 0.5) / (len(having) + 0.5))
        for chunk in having:
            tf, dl = counts[chunk][term], sum(counts[chunk].values())
            scores[chunk] = scores.get(chunk, 0.0) + idf * tf * (k1 + 1) / (
                tf + k1 * (1 - b + b * dl / avgdl)
            )
    return sorted(scores, key=lambda chunk: (-round(scores[chunk], 9), chunk))


def test_a_rare_word_outranks_a_common_one(knowledge_base) -> None:
    """ts_rank has no IDF: with OR-ed lexemes a chunk matching the common word ranked like
    one matching the decisive rare word. BM25 puts the rare word first."""
    for i in range(12):
        _document(knowledge_base, f"The travel policy covers trip number {i} in detail.")
    rare = _document(knowledge_base, "Zanzibar trips need a visa before departure.")
    ranking = _text_ranking("travel policy for Zanzibar", knowledge_base)
    assert ranking[0] == rare.chunks.get().pk


def test_the_ranking_is_exact_bm25_over_the_stored_chunks(knowledge_base, settings) -> None:
    texts = [
        "Laptops are replaced every three years; replacement laptops come from IT.",
        "The laptop bag policy: one bag per employee, replaced when broken.",
        "Expense reports are due within thirty days of the trip.",
        "IT replaces broken monitors within a week.",
        "Years of service are counted from the first day.",
    ]
    for text in texts:
        _document(knowledge_base, text, title="Handbook")
    question = "how often are laptops replaced by IT"
    expected = _reference_bm25({"often", "laptop", "replac", "it"}, [knowledge_base], settings)
    assert _text_ranking(question, knowledge_base) == expected


def test_statistics_follow_new_versions_and_deletions(knowledge_base, alice) -> None:
    def assert_consistent() -> None:
        for base in KnowledgeBase.objects.all():
            vectors = ChunkLexemes.objects.filter(knowledge_base=base).values_list(
                "search_vector", flat=True
            )
            counts = [_term_counts(str(v)) for v in vectors]
            stats = LexicalStats.objects.filter(knowledge_base=base).first()
            assert (stats.chunk_count if stats else 0) == len(counts)
            assert (stats.length_sum if stats else 0) == sum(sum(c.values()) for c in counts)
            postings = LexicalPosting.objects.filter(knowledge_base_id=base.pk)
            assert postings.count() == sum(len(c) for c in counts)
            assert (postings.aggregate(total=Sum("tf"))["total"] or 0) == sum(
                sum(c.values()) for c in counts
            )

    other = KnowledgeBase.objects.create(name="Other", owner=alice)
    first = _document(knowledge_base, "Alpha beta gamma.", "Beta delta beta.")
    _document(other, "Alpha only here.")
    assert_consistent()
    Chunk.objects.filter(document=first).delete()  # what a new version does before storing
    _document(knowledge_base, "Epsilon zeta.")
    assert_consistent()
    delete_document(document=Document.objects.get(knowledge_base=other))
    assert_consistent()
    assert LexicalStats.objects.get(knowledge_base=other).chunk_count == 0
    other.delete()
    assert not LexicalStats.objects.filter(knowledge_base_id=other.pk).exists()
    assert not LexicalPosting.objects.filter(knowledge_base_id=other.pk).exists()


def test_ranks_depend_only_on_the_bases_the_user_may_read(knowledge_base, alice) -> None:
    """IDF and average length come from the readable bases: what an unreadable base holds
    never changes a reader's ranking (nor can it be inferred from it)."""
    often = _document(knowledge_base, "Alpha alpha alpha, said the alpha report twice.")
    once = _document(knowledge_base, "Beta appears once here.")
    before = _text_ranking("alpha beta", knowledge_base)
    assert before[:2] == [often.chunks.get().pk, once.chunks.get().pk]
    private = KnowledgeBase.objects.create(name="Private", owner=alice)
    for i in range(40):
        _document(private, f"Alpha memo {i}.")
    assert _text_ranking("alpha beta", knowledge_base) == before
    # Read together with the private base, alpha is common and the rare beta comes first.
    assert _text_ranking("alpha beta", knowledge_base, private)[0] == once.chunks.get().pk


def test_a_question_of_stop_words_only_finds_nothing_by_text(knowledge_base) -> None:
    _document(knowledge_base, "What is this about?")
    assert _text_ranking("what is this", knowledge_base) == []
