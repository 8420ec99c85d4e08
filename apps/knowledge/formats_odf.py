"""OpenDocument (odfpy) helpers shared by the ODT, ODS and ODP extractors: loading a
package safely, and the text of an element.

odfpy parses with defusedxml (entity declarations refused), but it prints a part that fails
to parse to stdout and goes on with an empty document: ``load_opendocument`` captures that
output (it would put document text into the worker's log) and turns it into a sentence.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import Any

from apps.knowledge.errors import ExtractionError

TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
DRAW_NS = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
PRESENTATION_NS = "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"
# <text:s text:c="…"/> stands for c spaces: a hostile count must not become gigabytes.
_MAX_SPACES = 100
_ELEMENT_NODE = 1
_TEXT_NODE = 3


def load_opendocument(data: bytes, *, what: str) -> Any:
    """The parsed document (call ``office_package.check_package`` first: it checks the bombs)."""
    from odf.opendocument import load

    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            document = load(io.BytesIO(data))
    except Exception as exc:  # odfpy raises many kinds (KeyError, ValueError, SAX errors)
        raise ExtractionError(f"The {what} could not be read: {_reason(exc)}") from exc
    if "SAX FAILED TO PARSE" in printed.getvalue():
        raise ExtractionError(f"The {what} could not be read: a part of it is not valid XML.")
    return document


def _reason(exc: Exception) -> str:
    if type(exc).__name__ == "EntitiesForbidden":
        return "it declares XML entities (an entity-expansion attack?)"
    if isinstance(exc, KeyError):
        return f"the part {exc} is missing"
    return str(exc) or type(exc).__name__


def children(element: Any, namespace: str, *names: str) -> Iterator[Any]:
    """The child elements of ``element`` named ``namespace:name`` for one of ``names``."""
    for child in element.childNodes:
        if (
            child.nodeType == _ELEMENT_NODE
            and child.qname[0] == namespace
            and child.qname[1] in names
        ):
            yield child


def attribute(element: Any, namespace: str, name: str) -> str:
    return str(element.attributes.get((namespace, name), ""))


def count_attribute(element: Any, namespace: str, name: str) -> int:
    """A repetition count (``number-rows-repeated``…): at least 1, whatever the file says."""
    raw = attribute(element, namespace, name)
    return max(1, int(raw)) if raw.isdigit() else 1


def odf_text(element: Any) -> str:
    """The text of an element, with ``text:s``, tabs and line breaks resolved."""
    parts: list[str] = []
    _collect(element, parts)
    return "".join(parts)


def _collect(element: Any, parts: list[str]) -> None:
    for child in element.childNodes:
        if child.nodeType == _TEXT_NODE:
            parts.append(child.data)
            continue
        if child.nodeType != _ELEMENT_NODE:
            continue
        namespace, name = child.qname
        if namespace == TEXT_NS and name == "line-break":
            parts.append("\n")
        elif namespace == TEXT_NS and name == "tab":
            parts.append("\t")
        elif namespace == TEXT_NS and name == "s":
            parts.append(" " * min(count_attribute(child, TEXT_NS, "c"), _MAX_SPACES))
        elif namespace == TEXT_NS and name in ("note", "tracked-changes"):
            continue  # footnote bodies and deleted text would land mid-sentence
        else:
            _collect(child, parts)


def paragraph_texts(element: Any) -> list[str]:
    """Each paragraph (``text:p`` / ``text:h``) below ``element`` as one line of text."""
    found: list[str] = []
    for child in element.childNodes:
        if child.nodeType != _ELEMENT_NODE:
            continue
        if child.qname[0] == TEXT_NS and child.qname[1] in ("p", "h"):
            text = " ".join(odf_text(child).split())
            if text:
                found.append(text)
        else:
            found.extend(paragraph_texts(child))
    return found
