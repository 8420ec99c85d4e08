"""What every extractor returns: text with structure, and the spans of its pages.

A module of its own so that format modules (PDF, images, …) can build results without
importing ``extract``, which imports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

PAGE_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class PageSpan:
    page: int
    start: int
    end: int


@dataclass(frozen=True)
class TimeSpan:
    """A recording's segment: ``[start, end)`` of the transcript, said from ``start_seconds``
    to ``end_seconds``."""

    start: int
    end: int
    start_seconds: float
    end_seconds: float


@dataclass(frozen=True)
class Extracted:
    """``pages`` numbers spans of the text; ``page_kind`` says what they count (``"page"``
    of a PDF or scan, ``"slide"`` of a presentation), for citations like "slide 3"."""

    text: str
    pages: list[PageSpan] = field(default_factory=list)
    title: str = ""
    page_kind: str = "page"
    times: list[TimeSpan] = field(default_factory=list)  # a recording's transcript


def normalise_text(text: str) -> str:
    """Unix line ends, no NUL, no trailing blanks on lines, no blank lines around."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    # Line by line, not re.sub(r"[ \t]+\n"): that backtracks over every long run of blanks
    # that is not followed by a line end (quadratic: 80,000 spaces took 4 s).
    *lines, last = text.split("\n")
    return "\n".join([*(line.rstrip(" \t") for line in lines), last]).strip("\n")


def join_pages(texts: Sequence[str], *, title: str = "", page_kind: str = "page") -> Extracted:
    """One text from the pages' texts (numbered from 1), each page's span recorded."""
    pages: list[PageSpan] = []
    offset = 0
    for number, page_text in enumerate(texts, start=1):
        if pages:
            offset += len(PAGE_SEPARATOR)
        pages.append(PageSpan(number, offset, offset + len(page_text)))
        offset += len(page_text)
    return Extracted(text=PAGE_SEPARATOR.join(texts), pages=pages, title=title, page_kind=page_kind)
