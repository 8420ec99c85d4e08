"""The main content of a fetched web page (site sources and single URLs), by trafilatura.

A page's menus, side bars, site-wide tables of contents, headers and footers are not part
of what it says; uploaded HTML files keep the plain block extractor (``extract_html``),
since a file someone chose to upload is all content. Measured on real documentation pages
(bench/site_extraction.py): trafilatura in Markdown with ``favor_recall`` keeps 5.7% of the
boilerplate words and loses 4.0% of the content words; the block extractor keeps 78.5% of
the boilerplate and loses 1.0% of the content. Markdown output keeps the headings as ``#``
lines, which the chunker turns into passage headings.

Runs in the extraction child (no Django): a plain function of the page's bytes.
"""

from __future__ import annotations

import re

from apps.knowledge.extract import Extracted, extract_html


def extract_web_page(data: bytes) -> Extracted:
    """Main content as Markdown-headed text, titled by the page's ``<title>``; a page that
    trafilatura finds nothing in (a tiny page, an unusual layout) falls back to the block
    extractor, so no page is lost to the choice of library."""
    import trafilatura
    from trafilatura.utils import decode_file

    html = decode_file(data)
    title = _title(html)
    text = trafilatura.extract(
        html,
        output_format="markdown",
        favor_recall=True,
        include_tables=True,
        include_comments=False,
        include_images=False,
        deduplicate=False,
    )
    if not text or not text.strip():
        fallback = extract_html(html)
        return Extracted(text=fallback.text, title=title or fallback.title)
    return Extracted(text=_tidy(text), title=title)


def _title(html: str) -> str:
    from selectolax.lexbor import LexborHTMLParser

    node = LexborHTMLParser(html).css_first("title")
    return " ".join(node.text().split()) if node is not None else ""


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\x00", "")
    return re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+\n", "\n", text)).strip()
