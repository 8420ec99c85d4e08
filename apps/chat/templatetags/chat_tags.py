from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from apps.chat.citations import render_answer, unique_sources
from apps.chat.models import Message
from apps.search.filters import FILE_TYPES
from apps.search.highlight import span_highlight

register = template.Library()


@register.simple_tag
def answer_html(message: Message) -> SafeString:
    return render_answer(message.content, message.citation_list, prefix=f"cite-{message.pk}")


@register.filter
def downloadable(source: dict[str, Any], message: Message) -> bool:
    """Whether the sources list may link the cited document's original file."""
    return int(source.get("document_id") or 0) not in getattr(message, "no_download", set())


@register.filter
def sources(message: Message) -> list[dict[str, Any]]:
    """Each cited passage once, with the span that supports the statements citing it marked and
    the ``kinds`` of the citations naming it (``file_citation``, ``url_citation``, …)."""
    cited_words: dict[int, list[str]] = {}
    kinds: dict[int, set[str]] = {}
    for citation in message.citation_list:
        number = int(citation["number"])
        start, end = int(citation.get("start", 0)), int(citation.get("end", 0))
        cited_words.setdefault(number, []).append(message.content[start:end])
        kinds.setdefault(number, set()).add(str(citation.get("kind", "")))
    return [
        {
            **source,
            "highlighted": span_highlight(
                str(source.get("text", "")), " ".join(cited_words.get(int(source["number"]), []))
            ),
            "kinds": sorted(kinds.get(int(source["number"]), set())),
        }
        for source in unique_sources(message.citation_list)
    ]


@register.filter
def uncited(message: Message) -> list[dict[str, Any]]:
    """Passages that were retrieved (and sent to the model) but not cited."""
    cited = {int(c["chunk_id"]) for c in message.citation_list if c.get("chunk_id") is not None}
    return [
        p
        for p in (message.retrieved or [])
        if p.get("document_id") is not None and int(p.get("chunk_id") or 0) not in cited
    ]


@register.filter
def token_count(usage: dict[str, Any] | None) -> int:
    return int((usage or {}).get("total_tokens") or 0)


@register.filter
def filter_summary(stored: dict[str, Any] | None) -> str:
    """A stored question filter in words: "2 documents · PDF · added from 2026-01-01"."""
    stored = stored or {}
    parts = []
    documents = len(stored.get("documents") or [])
    titles = [str(t) for t in stored.get("document_titles") or []]
    if titles and len(titles) <= 3:
        parts.append(", ".join(titles))
    elif titles:
        parts.append(f"{', '.join(titles[:2])} and {len(titles) - 2} more documents")
    elif documents:
        parts.append(f"{documents} document{'s' if documents != 1 else ''}")
    labels = [FILE_TYPES[t][0] for t in stored.get("file_types") or [] if t in FILE_TYPES]
    if labels:
        parts.append(", ".join(labels))
    if stored.get("added_after"):
        parts.append(f"added from {stored['added_after']}")
    if stored.get("added_before"):
        parts.append(f"added until {stored['added_before']}")
    return " · ".join(parts) or "a filter"
