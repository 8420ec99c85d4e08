"""The local extractive answerer.

It never writes words of its own about the subject: it picks the sentences of the
given documents that best answer the question, quotes them, and cites each one with
a ``document_citation`` whose ``start_index``/``end_index`` point into its answer.
Instructions inside documents or the system prompt are never followed or repeated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from apps.localmodels.embedder import embed_texts
from apps.localmodels.lexical import content_terms, term_overlap

NO_ANSWER = "I could not find an answer to this question in the provided documents."
MIN_SCORE = 0.30
RELATIVE_CUTOFF = 0.80
MAX_SENTENCES = 3
MIN_SENTENCE_CHARS = 25
MAX_SENTENCE_CHARS = 600

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])|\n{1,}")
_MARKUP_PREFIX = re.compile(r"^\s*(?:#{1,6}\s+|[-*+]\s+|\d+[.)]\s+|>\s*)")


@dataclass(frozen=True)
class SourceDocument:
    id: str
    text: str


@dataclass(frozen=True)
class CitedSpan:
    """The answer's characters ``start_index:end_index`` quote document ``document_id``."""

    document_id: str
    start_index: int
    end_index: int

    def annotation(self) -> dict[str, Any]:
        """The span as Groq's ``document_citation`` annotation."""
        return {
            "type": "document_citation",
            "document_citation": {
                "document_id": self.document_id,
                "start_index": self.start_index,
                "end_index": self.end_index,
            },
        }


@dataclass(frozen=True)
class Answer:
    content: str
    citations: list[CitedSpan]


@dataclass(frozen=True)
class _Sentence:
    document_id: str
    order: int
    text: str
    heading: str = ""

    def scored_text(self) -> str:
        """The sentence with its section heading: "First steps" makes its list items findable."""
        return f"{self.heading}: {self.text}" if self.heading else self.text


def unwrap_lines(text: str) -> str:
    """Join hard-wrapped prose lines (as PDFs give them); keep titles and list items apart."""
    lines = text.split("\n")
    out: list[str] = []
    for line in lines:
        previous = out[-1] if out else ""
        wrapped = (
            len(previous) >= 40
            and not previous.rstrip().endswith((".", "!", "?", ":"))
            and line.strip()
            and not _MARKUP_PREFIX.match(line)
        )
        if wrapped:
            out[-1] = previous.rstrip() + " " + line.strip()
        else:
            out.append(line)
    return "\n".join(out)


_HEADING_LINE = re.compile(r"^\s*#{1,6}\s+(.+?)\s*#*\s*$")


def sentences_with_headings(text: str) -> list[tuple[str, str]]:
    """``(section heading, sentence)`` pairs; heading lines themselves are never sentences."""
    pairs: list[tuple[str, str]] = []
    heading = ""
    for line in unwrap_lines(text).split("\n"):
        match = _HEADING_LINE.match(line)
        if match:
            heading = match.group(1).strip()
            continue
        for piece in _SENTENCE_END.split(line):
            cleaned = re.sub(r"\s+", " ", _MARKUP_PREFIX.sub("", piece)).strip()
            if not MIN_SENTENCE_CHARS <= len(cleaned) <= MAX_SENTENCE_CHARS:
                continue
            if not cleaned.endswith((".", "!", "?", ":", ";")) and len(cleaned.split()) < 6:
                continue  # a title or label, not a statement
            pairs.append((heading, cleaned))
    return pairs


def _candidate_sentences(documents: Sequence[SourceDocument]) -> list[_Sentence]:
    candidates: list[_Sentence] = []
    seen: set[str] = set()
    for doc in documents:
        for heading, sentence in sentences_with_headings(doc.text):
            if sentence not in seen:
                seen.add(sentence)
                candidates.append(_Sentence(doc.id, len(candidates), sentence, heading))
    return candidates


def answer_question(question: str, documents: Sequence[SourceDocument]) -> Answer:
    """Quote the best-matching sentences of ``documents`` with a citation for each."""
    candidates = _candidate_sentences(documents)
    if not question.strip() or not candidates:
        return Answer(NO_ANSWER, [])
    vectors = embed_texts([question] + [c.scored_text() for c in candidates])
    similarities = vectors[1:] @ vectors[0]
    terms = content_terms(question)
    scored = sorted(
        (
            (float(0.8 * sim + 0.2 * term_overlap(terms, c.scored_text())), c)
            for sim, c in zip(similarities, candidates, strict=True)
        ),
        key=lambda pair: pair[0],
        reverse=True,
    )
    best = scored[0][0]
    if best < MIN_SCORE:
        return Answer(NO_ANSWER, [])
    chosen = [c for score, c in scored[:MAX_SENTENCES] if score >= best * RELATIVE_CUTOFF]
    chosen.sort(key=lambda c: c.order)  # read in document order, not score order
    content = ""
    citations = []
    for sentence in chosen:
        if content:
            content += " "
        start = len(content)
        content += sentence.text
        citations.append(CitedSpan(sentence.document_id, start, len(content)))
    return Answer(content, citations)
