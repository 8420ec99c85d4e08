"""What "inert HTML" means for every security test: the real elements and attributes of a
page (parsed, so escaped text never counts), checked against what an attack would need."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

# Elements that run code, embed other documents, or change the page itself.
ACTIVE_TAGS = {
    "script",
    "iframe",
    "frame",
    "object",
    "embed",
    "svg",
    "math",
    "base",
    "style",
    "meta",
    "link",
}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "srcset", "poster", "data", "xlink:href"}


@dataclass(frozen=True)
class Element:
    tag: str
    attrs: dict[str, str]


def elements(html: str) -> list[Element]:
    found: list[Element] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append(Element(tag, {k: v or "" for k, v in attrs}))

        handle_startendtag = handle_starttag

    Collector(convert_charrefs=True).feed(html)
    return found


def _own_icons() -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    """The exact <svg> elements of our inline icons (apps/knowledge/templatetags/icons.py):
    fixed markup of ours, not content; any other <svg> counts as active."""
    from apps.knowledge.templatetags.icons import PATHS, icon

    own = set()
    for name in PATHS:
        svg = elements(str(icon(name)))[0]
        own.add((svg.tag, tuple(sorted(svg.attrs.items()))))
    return own


def problems(
    html: str,
    *,
    page_elements: list[Element] | None = None,
    allowed_remote: frozenset[str] = frozenset(),
) -> list[str]:
    """Everything active or remote in ``html`` that the page itself does not put there.

    ``page_elements`` are the elements of the same page without the hostile content
    (the page's own <meta charset>, stylesheet and script tags), which are allowed.
    """
    own = {(e.tag, tuple(sorted(e.attrs.items()))) for e in page_elements or []} | _own_icons()
    found = []
    for element in elements(html):
        if (element.tag, tuple(sorted(element.attrs.items()))) in own:
            continue
        if element.tag in ACTIVE_TAGS:
            found.append(f"<{element.tag}> element")
        if element.tag == "img":
            found.append(f"<img src={element.attrs.get('src')!r}>")
        for name, value in element.attrs.items():
            if name.startswith("on"):
                found.append(f"{name} handler on <{element.tag}>")
            if name == "style":
                found.append(f"style attribute on <{element.tag}>")
            if name in URL_ATTRIBUTES and not is_safe_url(value, allowed_remote=allowed_remote):
                found.append(f"{name}={value!r} on <{element.tag}>")
    return found


def is_safe_url(value: str, *, allowed_remote: frozenset[str] = frozenset()) -> bool:
    """Same-origin paths and fragments; remote http(s) only when explicitly allowed."""
    cleaned = "".join(value.split()).lower()
    if not urlsplit(cleaned).scheme and not cleaned.startswith("//") and "\\" not in cleaned:
        return True
    return value in allowed_remote


def links(html: str) -> list[str]:
    return [e.attrs["href"] for e in elements(html) if e.tag == "a" and "href" in e.attrs]
