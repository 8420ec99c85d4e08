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

from apps.modelapi.schemas import Annotation
from apps.search.passages import Passage

_BRACKET_MARKER = re.compile(r"\[(\d{1,3})\]")


@dataclass(frozen=True)
class Citation:
    number: int
    start: int
    end: int
    chunk_id: int
    document_id: int
    title: str
    page: int | None
    url: str
    text: str
    kind: str = "document_citation"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _numbered(spans: Sequence[tuple[int, int, Passage]], kind: str) -> list[Citation]:
    numbers: dict[int, int] = {}
    citations = []
    for start, end, passage in sorted(spans, key=lambda s: (s[0], s[1])):
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
            )
        )
    return citations


def citations_from_annotations(
    content: str, annotations: Sequence[Annotation], passages_by_id: dict[str, Passage]
) -> list[Citation]:
    """``document_citation`` annotations → Citations numbered in order of first use."""
    spans: list[tuple[int, int, Passage]] = []
    for annotation in annotations:
        cited = annotation.document_citation
        if annotation.type != "document_citation" or cited is None:
            continue
        passage = passages_by_id.get(cited.document_id)
        if passage is None:
            continue
        start = max(0, min(cited.start_index, len(content)))
        end = max(start, min(cited.end_index, len(content)))
        spans.append((start, end, passage))
    return _numbered(spans, "document_citation")


def citations_from_markers(content: str, passages_by_id: dict[str, Passage]) -> list[Citation]:
    """Fallback for servers that ignore ``documents``: ``[n]`` markers citing passage ``n``."""
    spans: list[tuple[int, int, Passage]] = []
    sentence_start = 0
    for match in _BRACKET_MARKER.finditer(content):
        passage = passages_by_id.get(match.group(1))
        if passage is not None:
            spans.append((sentence_start, match.start(), passage))
        sentence_start = match.end()
    return _numbered(spans, "marker")


def render_answer(content: str, citations: Sequence[dict[str, Any]], *, prefix: str) -> SafeString:
    """Escaped answer text with a marker button after each cited span.

    Each marker opens the native popover ``{prefix}-{number}`` (no script needed).
    """
    by_end: dict[int, list[dict[str, Any]]] = {}
    for citation in citations:
        by_end.setdefault(int(citation["end"]), []).append(citation)
    pieces: list[str] = []
    cursor = 0
    for end in sorted(by_end):
        pieces.append(str(escape(content[cursor:end])))
        seen: set[int] = set()
        for citation in by_end[end]:
            number = int(citation["number"])
            if number in seen:
                continue
            seen.add(number)
            pieces.append(_marker(citation, prefix=prefix))
        cursor = end
    pieces.append(str(escape(content[cursor:])))
    html = "".join(pieces).replace("\n", "<br>")
    return mark_safe(html)


def _marker(citation: dict[str, Any], *, prefix: str) -> str:
    number = int(citation["number"])
    label = f"Source {number}: {citation.get('title', '')}"
    return (
        f'<button type="button" class="cite-marker" popovertarget="{escape(prefix)}-{number}" '
        f'aria-label="{escape(label)}">{number}</button>'
    )


def unique_sources(citations: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per citation number, in number order."""
    first: dict[int, dict[str, Any]] = {}
    for citation in citations:
        first.setdefault(int(citation["number"]), citation)
    return [first[n] for n in sorted(first)]
