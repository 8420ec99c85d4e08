"""A conversation as Markdown, its citations as footnotes that link to the cited place."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from django.utils import timezone
from django.utils.text import slugify

from apps.chat.citations import after_link_target
from apps.chat.models import Conversation, Message
from apps.knowledge.links import location_label, passage_path, seconds_of

# The model's text may hold our private-use markers or footnote syntax of its own.
_STRAY = re.compile(r"[\ue000-\uf8ff]")


def export_filename(conversation: Conversation) -> str:
    return f"{slugify(conversation.title)[:60] or 'conversation'}.md"


def conversation_markdown(
    conversation: Conversation,
    messages: Sequence[Message],
    *,
    absolute: Callable[[str], str],
    title: str | None = None,
) -> str:
    """``# title``, then each question and answer; footnotes numbered across the
    conversation (``[^3]``) so two answers' "source 1" stay apart. ``absolute`` turns a
    path into a full URL (``request.build_absolute_uri``)."""
    lines = [f"# {_one_line(title or conversation.title)}", ""]
    lines.append(f"Exported {timezone.localtime():%Y-%m-%d %H:%M}.")
    notes: list[str] = []
    for message in messages:
        lines.append("")
        if message.role == Message.Role.USER:
            lines += ["## Question", "", _quoted(message.content)]
            continue
        text, footnotes = _with_footnotes(message, first=len(notes) + 1, absolute=absolute)
        lines += ["## Answer", "", text]
        notes += footnotes
    if notes:
        lines += ["", *notes]
    return "\n".join(lines).rstrip() + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines() or [""])


def _with_footnotes(
    message: Message, *, first: int, absolute: Callable[[str], str]
) -> tuple[str, list[str]]:
    """The answer with ``[^n]`` after each cited span, and the footnotes' lines."""
    content = message.content
    labels: dict[int, int] = {}
    by_end: dict[int, list[int]] = {}
    sources: dict[int, dict[str, Any]] = {}
    for citation in message.citation_list:
        number = int(citation["number"])
        label = labels.setdefault(number, first + len(labels))
        sources.setdefault(label, citation)
        at = after_link_target(content, max(0, min(int(citation.get("end") or 0), len(content))))
        if label not in by_end.setdefault(at, []):
            by_end[at].append(label)
    pieces: list[str] = []
    cursor = 0
    for at in sorted(by_end):
        pieces.append(_STRAY.sub("", content[cursor:at]))
        pieces.extend(f"[^{label}]" for label in by_end[at])
        cursor = at
    pieces.append(_STRAY.sub("", content[cursor:]))
    return "".join(pieces), [_footnote(n, sources[n], absolute) for n in sorted(sources)]


def _footnote(label: int, citation: dict[str, Any], absolute: Callable[[str], str]) -> str:
    parts = [f"**{_one_line(str(citation.get('title', '')))}**"]
    where = location_label(
        section=str(citation.get("section") or ""),
        page=citation.get("page"),
        page_kind=str(citation.get("page_kind") or "page"),
        start_seconds=seconds_of(citation.get("start_seconds")),
    )
    if where:
        parts.append(where)
    if citation.get("document_id") is not None:
        path = passage_path(int(citation["document_id"]), int(citation.get("chunk_id") or 0))
        parts.append(f"<{absolute(path)}>")
    if citation.get("url"):
        parts.append(f"original: <{citation['url']}>")
    return f"[^{label}]: " + " · ".join(parts)
