"""Turn a model's annotations into our one internal Citation, and render them.

Ids are never trusted blindly: an annotation whose document id maps to no passage
sent with the request is dropped, and spans are clamped into the answer text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from apps.knowledge.links import passage_path
from apps.knowledge.markdown import render_markdown
from apps.knowledge.placeholders import Placeholders
from apps.modelapi.schemas import Annotation
from apps.search.retrieval import Passage

_BRACKET_MARKER = re.compile(r"\[(\d{1,3})\]")

MARKER = "marker"


@dataclass(frozen=True)
class Citation:
    """A span of the answer and the passage it cites.

    ``kind`` is the annotation type it came from (``document_citation``, ``file_citation``
    or ``url_citation``), or ``MARKER`` for a prompt-mode ``[n]`` in the answer text.
    """

    number: int
    start: int
    end: int
    chunk_id: int
    document_id: int
    title: str
    page: int | None
    url: str
    text: str
    kind: str
    page_kind: str = "page"  # "slide" for presentations; stored citations without it: "page"
    section: str = ""  # the heading path; stored citations without it: ""
    # When a recording says the passage (seconds from its start); text and stored
    # citations without them: None.
    start_seconds: float | None = None
    end_seconds: float | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _numbered(spans: Sequence[tuple[int, int, Passage, str]]) -> list[Citation]:
    """Citations of ``(start, end, passage, kind)`` spans, numbered by first use of a passage."""
    numbers: dict[int, int] = {}
    citations = []
    for start, end, passage, kind in sorted(spans, key=lambda s: (s[0], s[1])):
        number = numbers.setdefault(passage.chunk_id, len(numbers) + 1)
        citations.append(
            Citation(
                number=number,
                start=start,
                end=end,
                chunk_id=passage.chunk_id,
                document_id=passage.document_id,
                title=passage.document_title,
                page=passage.page,
                url=passage.source_url,
                text=passage.text,
                kind=kind,
                page_kind=passage.page_kind,
                section=passage.section,
                start_seconds=passage.start_seconds,
                end_seconds=passage.end_seconds,
            )
        )
    return citations


def _clamped(content: str, start: int | None, end: int | None) -> tuple[int, int]:
    first = max(0, min(start if start is not None else len(content), len(content)))
    last = max(first, min(end if end is not None else first, len(content)))
    return first, last


def _passage_for_file(file_id: str, passages_by_id: dict[str, Passage]) -> Passage | None:
    """A ``file_citation`` names a request document id or one of our document ids."""
    if file_id in passages_by_id:
        return passages_by_id[file_id]
    return next((p for p in passages_by_id.values() if str(p.document_id) == file_id), None)


def _passage_for_url(url: str, passages_by_id: dict[str, Passage]) -> Passage | None:
    """A ``url_citation`` counts only when the URL is one of our sources: never a new link."""
    return next((p for p in passages_by_id.values() if p.source_url and p.source_url == url), None)


def normalise_annotations(
    content: str, annotations: Sequence[Annotation], passages_by_id: dict[str, Passage]
) -> list[Citation]:
    """Every annotation kind → Citations numbered in order of first use, each keeping its kind.

    ``document_citation`` (chat completions), ``file_citation`` and ``url_citation``
    (Responses API, or nested the OpenAI way) are resolved against the passages sent
    with the request; anything that names no such passage is dropped, and so is
    ``function_citation`` (we send no tools, so there is nothing it could point to).
    """
    spans: list[tuple[int, int, Passage, str]] = []
    for annotation in annotations:
        passage: Passage | None = None
        start: int | None = None
        end: int | None = None
        if annotation.type == "document_citation" and annotation.document_citation:
            cited = annotation.document_citation
            passage = passages_by_id.get(cited.document_id)
            start, end = cited.start_index, cited.end_index
        elif annotation.type == "file_citation" and annotation.file_id:
            passage = _passage_for_file(annotation.file_id, passages_by_id)
            start = end = annotation.index
        elif annotation.type == "url_citation":
            nested = annotation.url_citation
            url = nested.url if nested else annotation.url
            passage = _passage_for_url(url or "", passages_by_id)
            start = nested.start_index if nested else annotation.start_index
            end = nested.end_index if nested else annotation.end_index
        if passage is not None:
            spans.append((*_clamped(content, start, end), passage, annotation.type))
    return _numbered(spans)


_SENTENCE_BREAK = re.compile(r"[.!?]\s+|\n")


_MARKER_RUN = re.compile(r"(?:[ \t]*\[\d{1,3}\])+")


def citations_from_markers(
    content: str, passages_by_id: dict[str, Passage]
) -> tuple[str, list[Citation]]:
    """Prompt-mode citations: ``[n]`` markers citing passage ``n``.

    Returns the answer with our markers removed (we draw our own) and citations whose
    spans cover the sentence each run of markers closes, in the cleaned text. A run like
    ``[1][2]`` cites both passages for the same span; brackets that name no passage we
    sent (``arr[0]``) are left in the text.
    """
    clean: list[str] = []
    spans: list[tuple[int, int, Passage, str]] = []
    cursor = 0
    length = 0
    span_floor = 0
    for run in _MARKER_RUN.finditer(content):
        cited = [
            passages_by_id[n] for n in _BRACKET_MARKER.findall(run.group()) if n in passages_by_id
        ]
        if not cited:
            continue
        before = content[cursor : run.start()]
        clean.append(before)
        length += len(before)
        text = "".join(clean)
        breaks = [
            m.end() for m in _SENTENCE_BREAK.finditer(text, span_floor, max(span_floor, length - 1))
        ]
        start = breaks[-1] if breaks else span_floor
        while start < length and text[start].isspace():
            start += 1
        if length > start:
            spans.extend((start, length, passage, MARKER) for passage in cited)
        cursor = run.end()
        span_floor = length
    clean.append(content[cursor:])
    return "".join(clean), _numbered(spans)


# Where citation buttons go, through Markdown and the sanitiser (apps/knowledge/placeholders).
_MARKERS = Placeholders("\ue000", "\ue001")


# A Markdown link's "(address)", with balanced parentheses in it and an optional "title".
_LINK_TARGET = re.compile(r'\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+"[^"]*")?\)')


def after_link_target(content: str, end: int) -> int:
    """A span ending inside a Markdown link's ``(address)`` ends after it instead: a marker
    there would break the address (and be dropped with it)."""
    for target in _LINK_TARGET.finditer(content, max(0, end - 2100)):
        if target.start() >= end:
            break
        if end < target.end():
            return target.end()
    return end


def render_answer(content: str, citations: Sequence[dict[str, Any]], *, prefix: str) -> SafeString:
    """The answer as sanitised Markdown with a marker button after each cited span.

    Each marker links to its passage and previews it in the popover ``{prefix}-{number}``.
    """
    content = _MARKERS.strip(content)
    by_end: dict[int, list[int]] = {}
    by_number: dict[int, dict[str, Any]] = {}
    for citation in citations:
        number = int(citation["number"])
        by_number.setdefault(number, citation)
        numbers = by_end.setdefault(after_link_target(content, int(citation["end"])), [])
        if number not in numbers:
            numbers.append(number)
    pieces: list[str] = []
    cursor = 0
    for end in sorted(by_end):
        pieces.append(content[cursor:end])
        pieces.extend(_MARKERS.token(number) for number in by_end[end])
        cursor = end
    pieces.append(content[cursor:])
    links = [str(c.get("url", "")) for c in citations]
    html = render_markdown("".join(pieces), allowed_links=links)
    html = _MARKERS.expand(html, lambda number: _marker(by_number[number], prefix=prefix))
    return mark_safe(html)


def _marker(citation: dict[str, Any], *, prefix: str) -> str:
    """A link to the cited passage in its document; hovering or focusing it previews the
    passage (the page's script opens the popover ``{prefix}-{number}``)."""
    number = int(citation["number"])
    label = f"Source {number}: {citation.get('title', '')}"
    href = "#"
    if citation.get("document_id") is not None:
        href = passage_path(int(citation["document_id"]), int(citation.get("chunk_id") or 0))
    return (
        f'<a class="cite-marker" href="{escape(href)}" '
        f'data-preview="{escape(prefix)}-{number}" aria-label="{escape(label)}">{number}</a>'
    )


def unique_sources(citations: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per citation number, in number order."""
    first: dict[int, dict[str, Any]] = {}
    for citation in citations:
        first.setdefault(int(citation["number"]), citation)
    return [first[n] for n in sorted(first)]
