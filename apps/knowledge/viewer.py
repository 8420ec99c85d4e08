"""The document viewer's text: the stored extracted text rendered with its structure, every
passage anchored where it starts and ends, so a link can scroll to and highlight one span.

Extractors write one light convention for every format: ``# heading`` lines, blocks parted
by blank lines, ``- `` list items. A Markdown file is rendered as Markdown (the sanitiser
of answers, links kept with ``rel=nofollow``, no images); any other text is rendered by
that convention only, escaped, so a ``*`` or ``1.`` in a PDF never turns into formatting.

Anchors go in as private-use markers, which pass through rendering and the sanitiser, and
are replaced by empty ``<span>`` elements afterwards. A marker at the start of a line
would break the line's syntax (``# Title`` would no longer be a heading), so it moves back
to the end of the previous block: the highlighted range covers the same words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from apps.knowledge.markdown import render_markdown
from apps.knowledge.placeholders import Placeholders

_MARKERS = Placeholders("\ue010", "\ue011")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_LIST_ITEM = re.compile(r"^\s*[-*•]\s+")


@dataclass(frozen=True)
class PassageSpan:
    chunk_id: int
    start: int
    end: int


@dataclass(frozen=True)
class _Anchor:
    offset: int
    html: str


def _anchors(passages: Sequence[PassageSpan], base: int, length: int) -> list[_Anchor]:
    """The start and end anchors of the passages that lie in ``[base, base + length]``."""
    anchors = []
    for passage in passages:
        if base <= passage.start <= base + length:
            anchors.append(
                _Anchor(
                    passage.start - base,
                    f'<span class="passage-start" id="chunk-{passage.chunk_id}" '
                    f'data-passage="{passage.chunk_id}"></span>',
                )
            )
        if base <= passage.end <= base + length:
            anchors.append(
                _Anchor(
                    passage.end - base,
                    f'<span class="passage-end" data-passage-end="{passage.chunk_id}"></span>',
                )
            )
    return anchors


def _with_markers(text: str, anchors: Sequence[_Anchor]) -> tuple[str, list[str], list[str]]:
    """``text`` with a marker for each anchor; the anchors that fall before all content or
    after it are returned separately (``before``, ``after``) to be put around the HTML."""
    before: list[str] = []
    after: list[str] = []
    at: dict[int, list[int]] = {}
    for number, anchor in enumerate(anchors):
        offset = min(max(anchor.offset, 0), len(text))
        if offset == 0 or text[offset - 1] == "\n":
            offset = len(text[:offset].rstrip())  # back to the end of the previous block
        if offset == 0:
            before.append(anchor.html)
        elif not text[offset:].strip() and anchor.html.startswith('<span class="passage-end"'):
            after.append(anchor.html)
        else:
            at.setdefault(offset, []).append(number)
    pieces: list[str] = []
    cursor = 0
    for offset in sorted(at):
        pieces.append(text[cursor:offset])
        pieces.extend(_MARKERS.token(number) for number in at[offset])
        cursor = offset
    pieces.append(text[cursor:])
    return "".join(pieces), before, after


def _structured_html(text: str) -> str:
    """The extractors' convention as HTML: headings, lists, paragraphs; all text escaped."""
    html: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        heading = _HEADING.match(lines[0]) if len(lines) == 1 else None
        if heading:
            level = len(heading.group(1))
            html.append(f"<h{level}>{escape(heading.group(2))}</h{level}>")
        elif all(_LIST_ITEM.match(line) for line in lines):
            items = "".join(f"<li>{escape(_LIST_ITEM.sub('', line))}</li>" for line in lines)
            html.append(f"<ul>{items}</ul>")
        else:
            html.append("<p>" + "<br>".join(escape(line) for line in lines) + "</p>")
    return "\n".join(html)


def _render_piece(text: str, anchors: Sequence[_Anchor], *, markdown: bool) -> str:
    marked, before, after = _with_markers(_MARKERS.strip(text), anchors)
    html = render_markdown(marked, any_link=True) if markdown else _structured_html(marked)
    html = _MARKERS.expand(html, lambda number: anchors[number].html)
    return "".join(before) + html + "".join(after)


def render_content(
    text: str,
    *,
    passages: Sequence[PassageSpan],
    pages: Sequence[Sequence[int]] = (),
    page_kind: str = "page",
    markdown: bool = False,
    page_links: bool = False,
) -> SafeString:
    """The document's text as HTML with its passages anchored; a paged text (PDF, slides)
    as one ``<section id="page-N">`` per page, labelled "Page N" or "Slide N" (with a link
    to the page's image, ``?page=N``, when ``page_links``)."""
    if not pages:
        return mark_safe(_render_piece(text, _anchors(passages, 0, len(text)), markdown=markdown))
    sections = []
    label = "Slide" if page_kind == "slide" else "Page"
    for number, start, end in pages:
        body = _render_piece(
            text[start:end], _anchors(passages, start, end - start), markdown=markdown
        )
        link = f' · <a href="?page={int(number)}">page image</a>' if page_links else ""
        sections.append(
            f'<section class="doc-page" id="page-{int(number)}" data-page="{int(number)}">'
            f'<p class="page-label">{label} {int(number)}{link}</p>{body}</section>'
        )
    return mark_safe("\n".join(sections))
