"""Model output as safe HTML: Markdown rendered, then sanitised with nh3.

Raw HTML in the model's text is never passed through (markdown-it runs with html off,
and nh3 keeps only a short list of tags); images are dropped, so no remote image is
ever loaded from an answer; links survive only when they point to one of the answer's
own sources, so a prompt-injected document cannot plant a new link.
"""

from __future__ import annotations

from collections.abc import Iterable

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "del", "code", "pre", "ul", "ol", "li", "blockquote",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "hr", "a",
}  # fmt: skip

_renderer = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False}).enable(
    ["table", "strikethrough"]
)
# A document's own Markdown: its line breaks inside paragraphs are wrapping, as CommonMark says
# (a model's answer keeps them: ``breaks`` above).
_document_renderer = MarkdownIt(
    "commonmark", {"html": False, "breaks": False, "linkify": False}
).enable(["table", "strikethrough"])


def render_markdown(text: str, *, allowed_links: Iterable[str] = (), any_link: bool = False) -> str:
    """Sanitised HTML for ``text``; only links to ``allowed_links`` keep their target, or
    every http(s) link with ``any_link`` (a document's own text in the viewer, whose line
    breaks inside a paragraph are then wrapping, not breaks)."""
    allowed = {url for url in allowed_links if url}

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "a" and attribute == "href":
            return value if any_link or value in allowed else None
        return value

    renderer = _document_renderer if any_link else _renderer
    return nh3.clean(
        renderer.render(text),
        tags=ALLOWED_TAGS,
        attributes={"a": {"href"}, "th": {"align"}, "td": {"align"}},
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
        attribute_filter=keep,
    )
