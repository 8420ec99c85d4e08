"""Structure-aware chunking that keeps character offsets and page numbers.

Units are headings, paragraphs, and (for long paragraphs) sentences or word
windows. Chunks never cross a page or a heading; consecutive chunks of a section
overlap by whole units. A chunk's text is always ``text[char_start:char_end]``.

A chunk is bounded by characters as well as by estimated tokens (``max_chars``), so that
no embedding input is ever too large: a run without spaces (a 3 MB token, base64, a
minified JSON line) is cut into pieces, and whitespace between units counts too. Every
scan is linear in the text's length (no regular expression that backtracks over a run).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from apps.knowledge.extract import Extracted
from apps.modelapi.tokens import WORD_PIECE_CHARS, estimate_tokens

_TOKEN = re.compile(r"\w+|[^\w\s]")  # what ``estimate_tokens`` counts

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# A sentence, or a run of sentence marks alone ("?!?!…"), which must not be lost either.
_SENTENCE = re.compile(r"(?:[^.!?]+(?:[.!?]+[\"')\]]*|$)|[.!?]+)\s*")
_WORD = re.compile(r"\S+")
DEFAULT_MAX_CHARS = 4000
# A longer "# …" line is body text: headings are short, and go into every embedding input.
HEADING_MAX_CHARS = 300
SECTION_SEPARATOR = " › "
SECTION_MAX_CHARS = 1000


@dataclass(frozen=True)
class ChunkDraft:
    ordinal: int
    text: str
    char_start: int
    char_end: int
    page: int | None
    heading: str
    token_count: int
    section: str = ""  # the heading path, outermost first: "Guide › Travel › Hotels"
    start_seconds: float | None = None  # a recording's passage: when it is said
    end_seconds: float | None = None


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    tokens: int
    heading: str | None  # the heading's title when this unit is a heading line
    level: int = 0  # its level (1 for "#"), for the heading path


def _segments(extracted: Extracted) -> list[tuple[int, int, int | None]]:
    if extracted.pages:
        return [(p.start, p.end, p.page) for p in extracted.pages]
    return [(0, len(extracted.text), None)]


def _pieces(text: str, start: int, end: int, limit: int, max_chars: int) -> Iterator[_Unit]:
    """A run without spaces, cut between its tokens (a single longer token by characters)
    into pieces within ``limit`` tokens and ``max_chars``."""
    size = max(1, min(max_chars, limit * WORD_PIECE_CHARS))
    first, tokens = start, 0
    for token in _TOKEN.finditer(text, start, end):
        token_tokens = -(-(token.end() - token.start()) // WORD_PIECE_CHARS)
        if tokens and (tokens + token_tokens > limit or token.end() - first > size):
            yield _Unit(first, token.start(), tokens, None)
            first, tokens = token.start(), 0
        if token.end() - token.start() > size:
            for cut in range(token.start(), token.end(), size):
                cut_end = min(cut + size, token.end())
                yield _Unit(cut, cut_end, estimate_tokens(text[cut:cut_end]), None)
            first, tokens = token.end(), 0
            continue
        tokens += token_tokens
    if tokens:
        yield _Unit(first, end, tokens, None)


def _windows(text: str, start: int, end: int, limit: int, max_chars: int) -> Iterator[_Unit]:
    """Consecutive words within ``limit`` tokens and ``max_chars``; a longer word in pieces."""
    piece = max(1, min(max_chars, limit * WORD_PIECE_CHARS))
    first = last = -1
    tokens = 0
    for word in _WORD.finditer(text, start, end):
        word_tokens = estimate_tokens(word.group())
        fits = tokens + word_tokens <= limit and word.end() - first <= max_chars
        if first >= 0 and not fits:
            yield _Unit(first, last, tokens, None)
            first = -1
        if word_tokens > limit or word.end() - word.start() > piece:
            yield from _pieces(text, word.start(), word.end(), limit, max_chars)
            continue
        if first < 0:
            first, tokens = word.start(), 0
        last = word.end()
        tokens += word_tokens
    if first >= 0:
        yield _Unit(first, last, tokens, None)


def _split_long(text: str, start: int, end: int, limit: int, max_chars: int) -> Iterator[_Unit]:
    """Split an over-long paragraph into sentences, and sentences into word windows."""
    for match in _SENTENCE.finditer(text, start, end):
        s_start = match.start()
        piece = text[s_start : match.end()].rstrip()
        s_end = s_start + len(piece)
        if not piece.strip():
            continue
        tokens = estimate_tokens(piece)
        if tokens <= limit and len(piece) <= max_chars:
            yield _Unit(s_start, s_end, tokens, None)
        else:
            yield from _windows(text, s_start, s_end, limit, max_chars)


def _blocks(text: str, start: int, end: int) -> Iterator[tuple[int, list[tuple[int, str]]]]:
    """Runs of non-blank lines (blank lines separate them), each line with its offset."""
    lines: list[tuple[int, str]] = []
    position = start
    for line in text[start:end].split("\n"):
        if line.strip():
            lines.append((position, line))
        elif lines:
            yield lines[0][0], lines
            lines = []
        position += len(line) + 1
    if lines:
        yield lines[0][0], lines


def _units(text: str, start: int, end: int, limit: int, max_chars: int) -> Iterator[_Unit]:
    for _, lines in _blocks(text, start, end):
        paragraph_start: int | None = None
        for line_start, line in lines:
            heading = _HEADING.match(line) if len(line) <= HEADING_MAX_CHARS else None
            if heading:
                if paragraph_start is not None:
                    yield from _paragraph(text, paragraph_start, line_start - 1, limit, max_chars)
                    paragraph_start = None
                yield _Unit(
                    line_start,
                    line_start + len(line),
                    estimate_tokens(line),
                    heading.group(2),
                    len(heading.group(1)),
                )
            elif paragraph_start is None:
                paragraph_start = line_start
        if paragraph_start is not None:
            block_end = lines[-1][0] + len(lines[-1][1])
            yield from _paragraph(text, paragraph_start, block_end, limit, max_chars)


def _paragraph(text: str, start: int, end: int, limit: int, max_chars: int) -> Iterator[_Unit]:
    tokens = estimate_tokens(text[start:end])
    if tokens <= limit and end - start <= max_chars:
        yield _Unit(start, end, tokens, None)
    else:
        yield from _split_long(text, start, end, limit, max_chars)


def chunk_text(
    extracted: Extracted,
    *,
    target_tokens: int = 200,
    overlap_tokens: int = 40,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> list[ChunkDraft]:
    """Cut ``extracted.text`` into chunks of about ``target_tokens``, none longer than
    ``max_chars`` characters."""
    text = extracted.text
    max_chars = max(max_chars, 2 * HEADING_MAX_CHARS)
    drafts: list[ChunkDraft] = []
    heading = ""
    path: list[tuple[int, str]] = []  # the open headings: (level, title)

    def emit(units: Sequence[_Unit], page: int | None) -> None:
        if not units or all(u.heading is not None for u in units):
            return
        start, end = units[0].start, units[-1].end
        body = text[start:end]
        section = SECTION_SEPARATOR.join(title for _, title in path)
        drafts.append(
            ChunkDraft(len(drafts), body, start, end, page, heading, estimate_tokens(body), section)
        )

    for seg_start, seg_end, page in _segments(extracted):
        current: list[_Unit] = []
        size = 0
        for unit in _units(text, seg_start, seg_end, target_tokens, max_chars):
            if unit.heading is not None:
                emit(current, page)
                heading = unit.heading
                path = [*(h for h in path if h[0] < unit.level), (unit.level, unit.heading)]
                current, size = [unit], unit.tokens
                continue
            too_long = bool(current) and unit.end - current[0].start > max_chars
            if any(u.heading is None for u in current) and (
                size + unit.tokens > target_tokens or too_long
            ):
                emit(current, page)
                current = _overlap_tail(current, overlap_tokens)
            # The heading line or overlap kept must leave room for this unit (whitespace
            # between units counts): otherwise they go.
            while current and unit.end - current[0].start > max_chars:
                current.pop(0)
            current.append(unit)
            size = sum(u.tokens for u in current)
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
