"""Structure-aware chunking that keeps character offsets and page numbers.

Units are headings, paragraphs, and (for long paragraphs) sentences or word
windows. Chunks never cross a page or a heading; consecutive chunks of a section
overlap by whole units. A chunk's text is always ``text[char_start:char_end]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from apps.knowledge.extract import Extracted
from apps.modelapi.tokens import estimate_tokens

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_BLOCK = re.compile(r"[^\n]*\S[^\n]*(?:\n[^\n]*\S[^\n]*)*")
_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+[\"')\]]*|$)\s*")


@dataclass(frozen=True)
class ChunkDraft:
    ordinal: int
    text: str
    char_start: int
    char_end: int
    page: int | None
    heading: str
    token_count: int


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    tokens: int
    heading: str | None  # the heading's title when this unit is a heading line


def _segments(extracted: Extracted) -> list[tuple[int, int, int | None]]:
    if extracted.pages:
        return [(p.start, p.end, p.page) for p in extracted.pages]
    return [(0, len(extracted.text), None)]


def _split_long(text: str, start: int, end: int, limit: int) -> Iterator[_Unit]:
    """Split an over-long paragraph into sentences, and sentences into word windows."""
    for match in _SENTENCE.finditer(text, start, end):
        s_start, s_end = match.start(), match.end()
        piece = text[s_start:s_end].rstrip()
        s_end = s_start + len(piece)
        if not piece.strip():
            continue
        tokens = estimate_tokens(piece)
        if tokens <= limit:
            yield _Unit(s_start, s_end, tokens, None)
            continue
        words = list(re.finditer(r"\S+", text[s_start:s_end]))
        step = max(1, limit // 2)  # ~2 tokens per word in the worst case
        for i in range(0, len(words), step):
            window = words[i : i + step]
            w_start, w_end = s_start + window[0].start(), s_start + window[-1].end()
            yield _Unit(w_start, w_end, estimate_tokens(text[w_start:w_end]), None)


def _units(text: str, start: int, end: int, limit: int) -> Iterator[_Unit]:
    for block in _BLOCK.finditer(text, start, end):
        lines_start = block.start()
        paragraph_start: int | None = None
        position = lines_start
        for line in block.group().split("\n"):
            line_start, line_end = position, position + len(line)
            position = line_end + 1
            heading = _HEADING.match(line)
            if heading:
                if paragraph_start is not None:
                    yield from _paragraph(text, paragraph_start, line_start - 1, limit)
                    paragraph_start = None
                yield _Unit(line_start, line_end, estimate_tokens(line), heading.group(2))
            elif paragraph_start is None:
                paragraph_start = line_start
        if paragraph_start is not None:
            yield from _paragraph(text, paragraph_start, block.end(), limit)


def _paragraph(text: str, start: int, end: int, limit: int) -> Iterator[_Unit]:
    tokens = estimate_tokens(text[start:end])
    if tokens <= limit:
        yield _Unit(start, end, tokens, None)
    else:
        yield from _split_long(text, start, end, limit)


def chunk_text(
    extracted: Extracted, *, target_tokens: int = 200, overlap_tokens: int = 40
) -> list[ChunkDraft]:
    """Cut ``extracted.text`` into chunks of about ``target_tokens``."""
    text = extracted.text
    drafts: list[ChunkDraft] = []
    heading = ""

    def emit(units: Sequence[_Unit], page: int | None) -> None:
        if not units or all(u.heading is not None for u in units):
            return
        start, end = units[0].start, units[-1].end
        body = text[start:end]
        drafts.append(
            ChunkDraft(len(drafts), body, start, end, page, heading, estimate_tokens(body))
        )

    for seg_start, seg_end, page in _segments(extracted):
        current: list[_Unit] = []
        size = 0
        for unit in _units(text, seg_start, seg_end, target_tokens):
            if unit.heading is not None:
                emit(current, page)
                heading = unit.heading
                current, size = [unit], unit.tokens
                continue
            has_body = any(u.heading is None for u in current)
            if has_body and size + unit.tokens > target_tokens:
                emit(current, page)
                current = _overlap_tail(current, overlap_tokens)
                size = sum(u.tokens for u in current)
            current.append(unit)
            size += unit.tokens
        emit(current, page)
    return drafts


def _overlap_tail(units: Sequence[_Unit], overlap_tokens: int) -> list[_Unit]:
    """The trailing body units (never all of them) that fit in the overlap budget."""
    tail: list[_Unit] = []
    size = 0
    for unit in reversed(units[1:]):
        if unit.heading is not None or size + unit.tokens > overlap_tokens:
            break
        tail.insert(0, unit)
        size += unit.tokens
    return tail
